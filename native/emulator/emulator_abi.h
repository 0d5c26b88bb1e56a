/* C ABI of the CSP emulator library (build/Release/mdm_emulator.so, gyp target mdm_emulator).
 *
 * The first three functions have the shapes of Windows' mdmlocalmanagement.h (BOOL = int32_t,
 * PCWSTR/PWSTR = NUL-terminated UTF-16, HRESULT = int32_t); the MdmEmulator* functions are test
 * controls. The library is one process-global emulated device: every function takes the same
 * internal mutex, so calls from any thread are serialized.
 *
 * The device state persists (native/emulator/state_store.h): every process that loads the library
 * shares one JSON state file, $WINDOWS_IOT_DM_EMULATOR_STATE, else
 * $XDG_STATE_HOME/windows-iot-dm/emulator-state.json, else
 * $HOME/.local/state/windows-iot-dm/emulator-state.json (Windows: %LOCALAPPDATA%\windows-iot-dm\
 * emulator-state.json); the value ":memory:" keeps the state in the process (no file). Each Apply
 * is one transaction under an exclusive lock (flock; Windows LockFileEx) on "<state>.lock": it
 * reloads the file when another process replaced it, runs the request, and writes the file
 * (temporary file, fsync, rename, directory fsync) only when the device state changed. A new
 * state (first run, MdmEmulatorReset, a corrupt file) is seeded from the device profile
 * (native/emulator/profile.h): $WINDOWS_IOT_DM_EMULATOR_PROFILE, else the built-in default. A
 * corrupt state file is renamed "<state>.corrupt-<UTC time>" and reported in one stderr line;
 * the new state records it in events.recovered. Registration and the exec log are per process.
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
 *   0x8007064A                  HRESULT_FROM_WIN32(ERROR_BAD_CONFIGURATION): the device does not
 *                               start: the profile is invalid (bad JSON, a node outside the
 *                               schema, a value that does not fit its format) or unreadable, or no
 *                               state file location can be derived. Apply and MdmEmulatorReset
 *                               return it until MdmEmulatorReset finds a usable configuration;
 *                               stderr says why (one line per setup). Nothing is half-loaded.
 *   0x8007001D                  HRESULT_FROM_WIN32(ERROR_WRITE_FAULT): the state file (or its
 *                               directory) could not be written: Apply returns no response, and
 *                               the device state and exec log are rolled back to what the file
 *                               holds. Exception: when only the final directory fsync failed, the
 *                               new state is already in place and is kept. Also returned when a
 *                               new state cannot be created (the Apply then runs nothing).
 *   0x8007001E                  HRESULT_FROM_WIN32(ERROR_READ_FAULT): the state file exists but
 *                               cannot be read, or is corrupt and cannot be moved aside.
 *   0x80070021                  HRESULT_FROM_WIN32(ERROR_LOCK_VIOLATION): "<state>.lock" cannot be
 *                               opened or locked.
 * Each of these also prints one line starting "windows-iot-dm emulator: " on stderr.
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
/* Undecorated exports, as mdmlocalmanagement.dll's: on x64 and ARM64 WINAPI (__stdcall) is the
 * one C calling convention, so no .def file is needed. */
#define MDM_EMULATOR_API __declspec(dllexport)
#else
#define MDM_EMULATOR_API __attribute__((visibility("default")))
#endif

/* 1: the MDM functions and test controls. 2: + the MdmEmulatorSystem* functions. 3: + the
 * MdmEmulatorSystemGetService / MdmEmulatorSystemSetService functions. */
#define MDM_EMULATOR_ABI_VERSION 4
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

/* Frees a string returned by this library (the stand-in for LocalFree; on Windows the strings
 * come from LocalAlloc, so LocalFree works too, as the addon does). Null is ignored. */
MDM_EMULATOR_API void MdmEmulatorFree(void* p);

/* Test control: reads $WINDOWS_IOT_DM_EMULATOR_STATE / _PROFILE again, puts the device back in
 * the profile's initial state (empty events) and writes it; empty exec log, unregistered. S_OK, or
 * 0x8007064A / 0x8007001D / 0x8007001E / 0x80070021 as above. */
MDM_EMULATOR_API int32_t MdmEmulatorReset(void);

/* MDM_EMULATOR_ABI_VERSION of the library. */
MDM_EMULATOR_API int32_t MdmEmulatorAbiVersion(void);

/* Number of successful Exec commands since the last reset (rolled-back Atomics not counted). */
MDM_EMULATOR_API int32_t MdmEmulatorExecCount(void);

/* The exec log as a JSON array, oldest first: [{"uri":"./Device/Vendor/MSFT/Reboot/RebootNow",
 * "data":null}, ...] where uri is canonical (./Vendor alias resolved, segments %-encoded) and
 * data is the Exec item's Data or null. Free *result with MdmEmulatorFree. */
MDM_EMULATOR_API int32_t MdmEmulatorExecLog(char16_t** result);

/* ---- Emulated system settings (ABI version 2) ------------------------------------------------
 * What the addon's system part (native/system) reaches through Win32 on Windows: the time zone
 * (Get/SetDynamicTimeZoneInformation) and the boot time. The emulated values live in the state
 * file's events.system member (native/emulator/system_state.h), in the same locked transaction
 * as an Apply; the device need not be registered. Time zones cross as UTF-16 JSON text in the
 * form of native/system/time_zone.h (the TimeZoneInfo of lib/native/system-contract.ts).
 * Besides the HRESULTs below, each can return the persistence HRESULTs described above
 * (0x8007064A, 0x8007001D, 0x8007001E, 0x80070021) and E_OUTOFMEMORY. */

/* Sets *json to the time zone in effect (a new state: the profile's system.timeZone, else UTC).
 * Free it with MdmEmulatorFree. *json is null unless S_OK. E_INVALIDARG: json is null. */
MDM_EMULATOR_API int32_t MdmEmulatorSystemGetTimeZone(char16_t** json);

/* Sets the time zone from `json`: by key name (keyName not empty and
 * dynamicDaylightTimeDisabled false: the rules come from the emulator's table of common Windows
 * zones) or from the explicit members. Returns
 *   S_OK                        set (and saved)
 *   E_INVALIDARG (0x80070057)   json is null, not UTF-16/JSON, or the time zone breaks a rule of
 *                               time_zone.h (missing member, name too long, bias out of range...)
 *   0x80070490                  HRESULT_FROM_WIN32(ERROR_NOT_FOUND): by key name, and the table
 *                               has no such zone
 * When `error` is not null it is set to null on S_OK, else to a one-line English reason (free it
 * with MdmEmulatorFree). Nothing changes unless S_OK. */
MDM_EMULATOR_API int32_t MdmEmulatorSystemSetTimeZone(const char16_t* json, char16_t** error);

/* Sets *ms to the emulated boot time in ms since the Unix epoch: the last emulated RebootNow,
 * else the host's boot time. E_INVALIDARG: ms is null. */
MDM_EMULATOR_API int32_t MdmEmulatorSystemBootTime(int64_t* ms);

/* ---- Emulated services (ABI version 3) -------------------------------------------------------
 * What the addon's system part reaches through the service control manager on Windows
 * (QueryServiceConfig/QueryServiceStatusEx, ChangeServiceConfig, StartService/ControlService).
 * Only the services of the allowlist exist (native/system/service.h: "w32time"; default startup
 * "auto", running); they live in the state file's events.system.services member, in the same
 * locked transaction as an Apply (MdmEmulatorReset restores the defaults). Services cross as
 * UTF-16 JSON text in the form of native/system/service.h:
 *   {"name":"w32time","startup":"auto"|"manual"|"disabled","running":true|false}
 * Besides the HRESULTs below, each can return the persistence HRESULTs described above and
 * E_OUTOFMEMORY. */

/* Sets *json to the service `name`. Free it with MdmEmulatorFree; *json is null unless S_OK.
 *   E_INVALIDARG (0x80070057)   name or json is null, or name is not well-formed UTF-16
 *   0x80070424                  HRESULT_FROM_WIN32(ERROR_SERVICE_DOES_NOT_EXIST): not in the
 *                               allowlist */
MDM_EMULATOR_API int32_t MdmEmulatorSystemGetService(const char16_t* name, char16_t** json);

/* Changes the service `name` by `change`, a JSON object with optional members "startup"
 * ("auto" | "manual" | "disabled") and "running" (true starts the service, false stops it); the
 * startup type is applied first. Returns
 *   S_OK                        changed (and saved); starting a running service or stopping a
 *                               stopped one is not an error
 *   E_INVALIDARG (0x80070057)   a null argument, not UTF-16/JSON, an unknown member or a bad value
 *   0x80070424                  HRESULT_FROM_WIN32(ERROR_SERVICE_DOES_NOT_EXIST): not in the
 *                               allowlist
 *   0x80070422                  HRESULT_FROM_WIN32(ERROR_SERVICE_DISABLED): starting a stopped
 *                               service whose (resulting) startup type is disabled
 * When `error` is not null it is set to null on S_OK, else to a one-line English reason (free it
 * with MdmEmulatorFree). Nothing changes unless S_OK. */
MDM_EMULATOR_API int32_t MdmEmulatorSystemSetService(const char16_t* name, const char16_t* change,
                                                     char16_t** error);

/* ---- Emulated app life cycle (ABI version 4) -------------------------------------------------
 * What the addon's system part does for windows.manageAppLifeCycleAsync (no CSP starts or stops
 * an app). `pfn` is a package family name, `action` "start" or "stop". The app must be installed
 * in the emulated device (events.apps.packages, native/emulator/apps.h); its state is recorded in
 * events.apps.running.<pfn> (true/false) and the request appended to events.apps.lifecycle
 * ([{"pkgFamilyName","action","time"}], the last 100), in the same locked transaction as an
 * Apply. Nothing runs on the host. Returns
 *   S_OK                        done (and saved); starting a running app or stopping a stopped
 *                               one is not an error
 *   E_INVALIDARG (0x80070057)   a null argument, not UTF-16, or an action other than start/stop
 *   0x80070490                  HRESULT_FROM_WIN32(ERROR_NOT_FOUND): no package of that family
 *                               is installed
 * When `error` is not null it is set to null on S_OK, else to a one-line English reason (free it
 * with MdmEmulatorFree). Besides these, the persistence HRESULTs described above. */
MDM_EMULATOR_API int32_t MdmEmulatorSystemAppLifecycle(const char16_t* pfn, const char16_t* action,
                                                       char16_t** error);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WDM_NATIVE_EMULATOR_EMULATOR_ABI_H_ */
