// Reads and validates MdmSession arguments (rules in js_args.h).
#include "addon/js_args.h"

#include <cstdio>
#include <optional>
#include <utility>

#include "addon/native_error.h"
#include "common/utf16.h"

namespace wdm::addon {
namespace {

constexpr const char* kLibraryEnvVar = "WINDOWS_IOT_DM_MDM_LIBRARY";

bool Fail(Napi::Env env, const std::string& message) {
  InvalidArgError(env, message).ThrowAsJavaScriptException();
  return false;
}

// object[key]; false if a getter threw (the exception stays pending).
bool GetProperty(Napi::Env env, Napi::Object object, const char* key, Napi::Value* out) {
  *out = object.Get(key);
  return !out->IsEmpty() && !env.IsExceptionPending();
}

bool XmlForbidden(char16_t c, bool xml_text) {
  if (c == 0) return true;
  if (!xml_text) return false;
  return (c < 0x20 && c != 0x09 && c != 0x0A && c != 0x0D) || c == 0xFFFE || c == 0xFFFF;
}

// Reads a JS string (already known to be one) into `utf16`, reusing its capacity.
void ReadUtf16(Napi::Env env, Napi::Value value, std::u16string* utf16) {
  std::size_t length = 0;
  napi_get_value_string_utf16(env, value, nullptr, 0, &length);
  utf16->resize(length);
  // The buffer size counts the terminating NUL, which std::u16string keeps past size().
  napi_get_value_string_utf16(env, value, utf16->data(), length + 1, nullptr);
}

// Validates UTF-16 text; `name()` is the argument's name for the error message (built only when
// it is needed). With `utf8`, also returns the text as UTF-8.
template <typename Name>
bool CheckText(Napi::Env env, const std::u16string& utf16, const Name& name, bool xml_text,
               std::string* utf8) {
  for (char16_t c : utf16) {
    if (XmlForbidden(c, xml_text)) {
      char code[16];
      std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(c));
      return Fail(env, name() + " contains " + code + ", which " +
                           (xml_text ? "SyncML (XML 1.0) cannot carry" : "is not allowed"));
    }
  }
  std::string converted;
  std::string error;
  if (!text::Utf16ToUtf8(utf16, &converted, &error)) {
    return Fail(env, name() + " is not well-formed UTF-16 (" + error + ")");
  }
  if (utf8 != nullptr) *utf8 = std::move(converted);
  return true;
}

// Validates a JS string (already known to be one) and returns it as UTF-16 and, if `utf8` is
// set, as UTF-8.
bool ReadText(Napi::Env env, Napi::Value value, const std::string& name, bool xml_text,
              std::u16string* utf16, std::string* utf8) {
  ReadUtf16(env, value, utf16);
  return CheckText(
      env, *utf16, [&] { return name; }, xml_text, utf8);
}

// Reads the ops of one apply() call. The property keys are created once per call, not once per
// property read, and one UTF-16 buffer serves every string.
class OpReader {
 public:
  explicit OpReader(Napi::Env env)
      : env_(env),
        verb_(Napi::String::New(env, "verb")),
        uri_(Napi::String::New(env, "uri")),
        format_(Napi::String::New(env, "format")),
        type_(Napi::String::New(env, "type")),
        data_(Napi::String::New(env, "data")) {}

  bool Read(Napi::Value value, std::uint32_t index, syncml::Op* op) {
    index_ = index;
    if (!value.IsObject() || value.IsArray()) return Fail(env_, Prefix() + " must be an object");
    Napi::Object object = value.As<Napi::Object>();
    if (!ReadVerb(object, &op->verb)) return false;

    Napi::Value uri;
    if (!Get(object, uri_, &uri)) return false;
    if (!uri.IsString()) return Fail(env_, Prefix() + ".uri must be a non-empty string");
    ReadUtf16(env_, uri, &utf16_);
    if (utf16_.empty()) return Fail(env_, Prefix() + ".uri must be a non-empty string");
    if (!CheckText(
            env_, utf16_, [&] { return Prefix() + ".uri"; }, true, &op->uri))
      return false;

    std::optional<std::string> format, type;
    if (!ReadOptional(object, format_, "format", &format) ||
        !ReadOptional(object, type_, "type", &type) ||
        !ReadOptional(object, data_, "data", &op->data)) {
      return false;
    }
    op->format = format.value_or("");
    op->type = type.value_or("");
    return true;
  }

 private:
  std::string Prefix() const { return "ops[" + std::to_string(index_) + "]"; }

  // object[key]; false if a getter threw (the exception stays pending).
  bool Get(Napi::Object object, const Napi::String& key, Napi::Value* out) {
    *out = object.Get(key);
    return !out->IsEmpty() && !env_.IsExceptionPending();
  }

  bool ReadVerb(Napi::Object object, syncml::Verb* verb) {
    static constexpr const char* kMessage = " must be one of get, add, replace, delete, exec";
    Napi::Value value;
    if (!Get(object, verb_, &value)) return false;
    if (!value.IsString()) return Fail(env_, Prefix() + ".verb" + kMessage);
    // Every verb is shorter than the buffer, so a longer string is never taken for one.
    char text[16];
    std::size_t length = 0;
    napi_get_value_string_utf8(env_, value, text, sizeof text, &length);
    const std::string_view name(text, length);
    if (name == "get") {
      *verb = syncml::Verb::kGet;
    } else if (name == "add") {
      *verb = syncml::Verb::kAdd;
    } else if (name == "replace") {
      *verb = syncml::Verb::kReplace;
    } else if (name == "delete") {
      *verb = syncml::Verb::kDelete;
    } else if (name == "exec") {
      *verb = syncml::Verb::kExec;
    } else {
      return Fail(env_, Prefix() + ".verb" + kMessage);
    }
    return true;
  }

  // An optional string property of an op: absent/undefined -> nullopt.
  bool ReadOptional(Napi::Object object, const Napi::String& key, const char* name,
                    std::optional<std::string>* out) {
    Napi::Value value;
    if (!Get(object, key, &value)) return false;
    if (value.IsUndefined()) {
      out->reset();
      return true;
    }
    auto full_name = [&] { return Prefix() + "." + name; };
    if (!value.IsString()) return Fail(env_, full_name() + " must be a string when present");
    ReadUtf16(env_, value, &utf16_);
    std::string text;
    if (!CheckText(env_, utf16_, full_name, true, &text)) return false;
    *out = std::move(text);
    return true;
  }

  Napi::Env env_;
  Napi::String verb_, uri_, format_, type_, data_;
  std::uint32_t index_ = 0;
  std::u16string utf16_;
};

}  // namespace

bool ReadOps(Napi::Env env, Napi::Value value, std::vector<syncml::Op>* ops) {
  if (!value.IsArray()) return Fail(env, "ops must be an array");
  Napi::Array array = value.As<Napi::Array>();
  const std::uint32_t length = array.Length();
  ops->clear();
  ops->reserve(length);
  OpReader reader(env);
  for (std::uint32_t i = 0; i < length; ++i) {
    Napi::Value element = array.Get(i);
    if (element.IsEmpty() || env.IsExceptionPending()) return false;
    if (!reader.Read(element, i, &ops->emplace_back())) return false;
  }
  return true;
}

bool ReadAtomic(Napi::Env env, Napi::Value value, bool* atomic) {
  if (!value.IsBoolean()) return Fail(env, "atomic must be a boolean");
  *atomic = value.As<Napi::Boolean>().Value();
  return true;
}

bool ReadRawBody(Napi::Env env, Napi::Value value, std::u16string* body) {
  if (!value.IsString()) return Fail(env, "body must be a non-empty string");
  if (!ReadText(env, value, "body", false, body, nullptr)) return false;
  if (body->empty()) return Fail(env, "body must be a non-empty string");
  return true;
}

bool ReadLibraryPath(Napi::Env env, Napi::Value options, std::string* path) {
  path->clear();
  Napi::Value configured = env.Undefined();
  if (!options.IsUndefined()) {
    if (!options.IsObject() || options.IsArray()) {
      return Fail(env, "options must be an object when present");
    }
    if (!GetProperty(env, options.As<Napi::Object>(), "libraryPath", &configured)) return false;
    if (!configured.IsUndefined() && !configured.IsString()) {
      return Fail(env, "options.libraryPath must be a string when present");
    }
  }
  std::string name = "options.libraryPath";
  if (configured.IsUndefined()) {
    // Fall back to process.env of this environment (a worker_thread may have its own copy).
    name = kLibraryEnvVar;
    Napi::Value process, environment;
    if (!GetProperty(env, env.Global(), "process", &process)) return false;
    if (!process.IsObject()) return true;
    if (!GetProperty(env, process.As<Napi::Object>(), "env", &environment)) return false;
    if (!environment.IsObject()) return true;
    if (!GetProperty(env, environment.As<Napi::Object>(), kLibraryEnvVar, &configured)) {
      return false;
    }
    if (!configured.IsString()) return true;
  }
  std::u16string unused;
  return ReadText(env, configured, name, false, &unused, path);
}

namespace {

bool Missing(Napi::Env env, const std::string& name) {
  return Fail(env, name +
                       " is missing (every field is needed unless the zone is set by key name: "
                       "keyName with dynamicDaylightTimeDisabled false)");
}

// An optional (`required` false: undefined leaves *out alone) integer property.
bool ReadIntProperty(Napi::Env env, Napi::Object object, const char* key, const std::string& name,
                     bool required, int* out) {
  Napi::Value value;
  if (!GetProperty(env, object, key, &value)) return false;
  if (value.IsUndefined() && !required) return true;
  if (value.IsUndefined()) return Missing(env, name);
  if (!value.IsNumber()) return Fail(env, name + " must be an integer");
  const double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= -2147483648.0 && number <= 2147483647.0) ||
      number != static_cast<double>(static_cast<int>(number))) {
    return Fail(env, name + " must be an integer");
  }
  *out = static_cast<int>(number);
  return true;
}

bool ReadStringProperty(Napi::Env env, Napi::Object object, const char* key, bool required,
                        std::string* out) {
  Napi::Value value;
  if (!GetProperty(env, object, key, &value)) return false;
  if (value.IsUndefined() && !required) return true;
  if (value.IsUndefined()) return Missing(env, std::string("timeZone.") + key);
  if (!value.IsString()) return Fail(env, std::string("timeZone.") + key + " must be a string");
  std::u16string utf16;
  return ReadText(env, value, std::string("timeZone.") + key, false, &utf16, out);
}

bool ReadDateProperty(Napi::Env env, Napi::Object object, const char* key, bool required,
                      sys::TransitionDate* out) {
  Napi::Value value;
  if (!GetProperty(env, object, key, &value)) return false;
  if (value.IsUndefined() && !required) return true;
  const std::string name = std::string("timeZone.") + key;
  if (value.IsUndefined()) return Missing(env, name);
  if (!value.IsObject() || value.IsArray()) return Fail(env, name + " must be an object");
  Napi::Object date = value.As<Napi::Object>();
  return ReadIntProperty(env, date, "month", name + ".month", true, &out->month) &&
         ReadIntProperty(env, date, "week", name + ".week", true, &out->week) &&
         ReadIntProperty(env, date, "dayOfWeek", name + ".dayOfWeek", true, &out->day_of_week) &&
         ReadIntProperty(env, date, "hour", name + ".hour", true, &out->hour) &&
         ReadIntProperty(env, date, "minute", name + ".minute", true, &out->minute);
}

}  // namespace

bool ReadTimeZone(Napi::Env env, Napi::Value value, sys::TimeZone* tz) {
  if (!value.IsObject() || value.IsArray()) return Fail(env, "timeZone must be an object");
  Napi::Object object = value.As<Napi::Object>();
  *tz = sys::TimeZone();
  if (!ReadStringProperty(env, object, "keyName", true, &tz->key_name)) return false;
  Napi::Value disabled;
  if (!GetProperty(env, object, "dynamicDaylightTimeDisabled", &disabled)) return false;
  if (!disabled.IsBoolean()) {
    return Fail(env, "timeZone.dynamicDaylightTimeDisabled must be a boolean");
  }
  tz->dynamic_daylight_time_disabled = disabled.As<Napi::Boolean>().Value();
  const bool required = !sys::SetsByKeyName(*tz);
  if (!ReadIntProperty(env, object, "bias", "timeZone.bias", required, &tz->bias) ||
      !ReadStringProperty(env, object, "standardName", required, &tz->standard_name) ||
      !ReadIntProperty(env, object, "standardBias", "timeZone.standardBias", required,
                       &tz->standard_bias) ||
      !ReadDateProperty(env, object, "standardDate", required, &tz->standard_date) ||
      !ReadStringProperty(env, object, "daylightName", required, &tz->daylight_name) ||
      !ReadIntProperty(env, object, "daylightBias", "timeZone.daylightBias", required,
                       &tz->daylight_bias) ||
      !ReadDateProperty(env, object, "daylightDate", required, &tz->daylight_date)) {
    return false;
  }
  std::string error;
  if (!sys::ValidateTimeZone(*tz, &error)) return Fail(env, "timeZone." + error);
  return true;
}

bool ReadServiceName(Napi::Env env, Napi::Value value, std::string* name) {
  if (!value.IsString()) return Fail(env, "name must be a string");
  *name = value.As<Napi::String>().Utf8Value();
  if (!sys::IsAllowedService(*name)) {
    return Fail(env, "name must be a service that may be controlled (" +
                         std::string(sys::AllowedServicesText()) + "), not \"" + *name + "\"");
  }
  return true;
}

bool ReadServiceChange(Napi::Env env, Napi::Value value, sys::ServiceChange* change) {
  if (!value.IsObject() || value.IsArray()) return Fail(env, "change must be an object");
  Napi::Object object = value.As<Napi::Object>();
  *change = sys::ServiceChange();
  Napi::Value startup, running;
  if (!GetProperty(env, object, "startup", &startup) ||
      !GetProperty(env, object, "running", &running)) {
    return false;
  }
  if (!startup.IsUndefined()) {
    sys::ServiceStartup parsed;
    if (!startup.IsString() ||
        !sys::ParseStartup(startup.As<Napi::String>().Utf8Value(), &parsed)) {
      return Fail(env, "change.startup must be \"auto\", \"manual\" or \"disabled\"");
    }
    change->startup = parsed;
  }
  if (!running.IsUndefined()) {
    if (!running.IsBoolean()) return Fail(env, "change.running must be a boolean");
    change->running = running.As<Napi::Boolean>().Value();
  }
  return true;
}

}  // namespace wdm::addon
