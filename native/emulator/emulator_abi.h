/* C ABI of the CSP emulator library (build/Release/mdm_emulator.so, gyp target mdm_emulator).
 *
 * The first three functions have the shapes of Windows' mdmlocalmanagement.h (BOOL = int32_t,
 * PCWSTR/PWSTR = NUL-terminated UTF-16, HRESULT = int32_t); the MdmEmulator* functions are test
 * controls. The library is one process-global emulated device: every function takes the same
 * internal mutex, so calls from any thread are serialized.
 *
 * HRESULT conventions (ours; real Windows codes for these cases are not documented):
 *   S_OK (0)                    success. Apply returns S_OK even when commands fail: failures
 *                               are OMA-DM status codes in the response XML.
 *   E_INVALIDARG (0x80070057)   Apply with a null request or a null result pointer, ExecLog with
 *                               a null result pointer.
 *   0x80070490                  Apply before Register (HRESULT_FROM_WIN32(ERROR_NOT_FOUND): "not
 *                               registered").
 *   E_OUTOFMEMORY (0x8007000E)  the result string could not be allocated.
 *   E_FAIL (0x80004005)         the built-in node table failed to load (a bug).
 * A request that is not well-formed XML, or not UTF-16 (unpaired surrogate), or not a SyncML
 * body, still returns S_OK; the response then holds only the SyncHdr status (CmdRef 0, Cmd
 * SyncHdr) with code 400, which DecodeOpResults reports as "the device rejected the whole
 * message (SyncHdr status 400)".
 */
#ifndef WDM_NATIVE_EMULATOR_EMULATOR_ABI_H_
#define WDM_NATIVE_EMULATOR_EMULATOR_ABI_H_

#include <stdint.h>
#ifndef __cplusplus
#include <uchar.h>
#endif

#if defined(_WIN32)
#define MDM_EMULATOR_API
#else
#define MDM_EMULATOR_API __attribute__((visibility("default")))
#endif

#define MDM_EMULATOR_ABI_VERSION 1
#define MDM_EMULATOR_E_NOT_REGISTERED ((int32_t)0x80070490u)

#ifdef __cplusplus
extern "C" {
#endif

/* Registers the emulated device. Sets *alreadyRegistered (when non-null) to 1 if it already was,
 * else 0. Always S_OK. */
MDM_EMULATOR_API int32_t RegisterDeviceWithLocalManagement(int32_t* alreadyRegistered);

/* Runs a SyncML request (a bare <SyncBody> or a full <SyncML> message) and sets *result to the
 * response <SyncML> document, allocated by the library: free it with MdmEmulatorFree. *result is
 * set to null whenever the call does not return S_OK. */
MDM_EMULATOR_API int32_t ApplyLocalManagementSyncML(const char16_t* request, char16_t** result);

/* Unregisters the device (S_OK even if it was not registered). The node tree is kept. */
MDM_EMULATOR_API int32_t UnregisterDeviceWithLocalManagement(void);

/* Frees a string returned by this library (the stand-in for LocalFree). Null is ignored. */
MDM_EMULATOR_API void MdmEmulatorFree(void* p);

/* Test control: back to the seeded tree, empty exec log, unregistered. Returns S_OK. */
MDM_EMULATOR_API int32_t MdmEmulatorReset(void);

/* MDM_EMULATOR_ABI_VERSION of the library. */
MDM_EMULATOR_API int32_t MdmEmulatorAbiVersion(void);

/* Number of successful Exec commands since the last reset (rolled-back Atomics not counted). */
MDM_EMULATOR_API int32_t MdmEmulatorExecCount(void);

/* The exec log as a JSON array, oldest first: [{"uri":"./Device/Vendor/MSFT/Reboot/RebootNow",
 * "data":null}, ...] where uri is canonical (./Vendor alias resolved, segments %-encoded) and
 * data is the Exec item's Data or null. Free *result with MdmEmulatorFree. */
MDM_EMULATOR_API int32_t MdmEmulatorExecLog(char16_t** result);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WDM_NATIVE_EMULATOR_EMULATOR_ABI_H_ */
