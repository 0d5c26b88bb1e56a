// The JS Error objects the addon rejects or throws with. Each is a plain Error (TypeError for
// bad arguments) with a string `code` and code-specific fields (see lib/native/binding.ts):
//   ERR_MDM_UNAVAILABLE   library, symbol?, osError?
//   ERR_MDM_HRESULT       hresult (unsigned 32-bit), api, detail? (why, when the API said)
//   ERR_SYNCML_MALFORMED  detail
//   ERR_INVALID_ARG       (TypeError)
//   ERR_TPM_UNAVAILABLE   api?, path?, hresult?, osError?, osErrorName?
//   ERR_TPM               command, detail (a malformed TPM response)
// Only call these on the JS thread.
#pragma once

#include <cstdint>
#include <string>

#include <napi.h>

#include "mdm/library.h"
#include "tpm/channel.h"

namespace wdm::addon {

Napi::Error MdmUnavailableError(Napi::Env env, const mdm::LoadError& load_error);
// With a `detail`, the message ends with it instead of the generic hint for the HRESULT.
Napi::Error HresultError(Napi::Env env, const char* api, std::uint32_t hresult,
                         const std::string& detail = std::string());
Napi::Error SyncMLMalformedError(Napi::Env env, const std::string& detail);
// `path`: where the TPM was looked for ("" = not reported).
Napi::Error TpmUnavailableError(Napi::Env env, const tpm::ChannelError& error,
                                const std::string& path);
// `command`: the label of the command whose response was malformed (tpm::CommandLabel).
Napi::Error TpmMalformedError(Napi::Env env, const std::string& command, const std::string& detail);
Napi::TypeError InvalidArgError(Napi::Env env, const std::string& message);

}  // namespace wdm::addon
