// Argument validation for MdmSession (defence in depth: the TS layer validates first). Every
// function returns false with a JS exception pending: a TypeError with code ERR_INVALID_ARG, or
// whatever a user getter threw while the arguments were read.
//
// Strings are read as UTF-16 and converted strictly (common/utf16.h): lone surrogates are
// rejected, never replaced with U+FFFD. U+0000 is rejected everywhere (the API takes
// NUL-terminated strings); in op fields the other characters XML 1.0 cannot carry (C0 controls
// other than TAB/LF/CR, U+FFFE, U+FFFF) are rejected too.
#pragma once

#include <string>
#include <vector>

#include <napi.h>

#include "syncml/codec.h"
#include "system/service.h"
#include "system/time_zone.h"

namespace wdm::addon {

// apply()'s first argument: an array of { verb, uri, format?, type?, data? }.
bool ReadOps(Napi::Env env, Napi::Value value, std::vector<syncml::Op>* ops);
// apply()'s second argument.
bool ReadAtomic(Napi::Env env, Napi::Value value, bool* atomic);
// rawSyncML()'s argument: a non-empty string, kept as UTF-16.
bool ReadRawBody(Napi::Env env, Napi::Value value, std::u16string* body);
// The constructor's options: { libraryPath? }. Without libraryPath the path comes from
// process.env.WINDOWS_IOT_DM_MDM_LIBRARY (or stays empty).
bool ReadLibraryPath(Napi::Env env, Napi::Value options, std::string* path);
// SystemSession.setTimeZone()'s argument: a TimeZoneInfo object (system/time_zone.h: by key name
// only keyName and dynamicDaylightTimeDisabled are required), checked with ValidateTimeZone.
bool ReadTimeZone(Napi::Env env, Napi::Value value, sys::TimeZone* tz);
// getService()/setService()'s first argument: a service name of the allowlist
// (system/service.h IsAllowedService); any other name is refused.
bool ReadServiceName(Napi::Env env, Napi::Value value, std::string* name);
// setService()'s second argument: { startup?: "auto" | "manual" | "disabled", running?: boolean }.
bool ReadServiceChange(Napi::Env env, Napi::Value value, sys::ServiceChange* change);

}  // namespace wdm::addon
