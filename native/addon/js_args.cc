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

// Validates a JS string (already known to be one) and returns it as UTF-16 and, if `utf8` is
// set, as UTF-8.
bool ReadText(Napi::Env env, Napi::Value value, const std::string& name, bool xml_text,
              std::u16string* utf16, std::string* utf8) {
  *utf16 = value.As<Napi::String>().Utf16Value();
  for (char16_t c : *utf16) {
    if (XmlForbidden(c, xml_text)) {
      char code[16];
      std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(c));
      return Fail(env, name + " contains " + code + ", which " +
                           (xml_text ? "SyncML (XML 1.0) cannot carry" : "is not allowed"));
    }
  }
  std::string converted;
  std::string error;
  if (!text::Utf16ToUtf8(*utf16, &converted, &error)) {
    return Fail(env, name + " is not well-formed UTF-16 (" + error + ")");
  }
  if (utf8 != nullptr) *utf8 = std::move(converted);
  return true;
}

// An optional string property of an op: absent/undefined -> nullopt.
bool ReadOptionalField(Napi::Env env, Napi::Object op, const std::string& prefix, const char* key,
                       std::optional<std::string>* out) {
  Napi::Value value;
  if (!GetProperty(env, op, key, &value)) return false;
  if (value.IsUndefined()) {
    out->reset();
    return true;
  }
  const std::string name = prefix + "." + key;
  if (!value.IsString()) return Fail(env, name + " must be a string when present");
  std::u16string unused;
  std::string text;
  if (!ReadText(env, value, name, true, &unused, &text)) return false;
  *out = std::move(text);
  return true;
}

bool ReadVerb(Napi::Env env, Napi::Object op, const std::string& prefix, syncml::Verb* verb) {
  static constexpr const char* kMessage = " must be one of get, add, replace, delete, exec";
  Napi::Value value;
  if (!GetProperty(env, op, "verb", &value)) return false;
  if (!value.IsString()) return Fail(env, prefix + ".verb" + kMessage);
  const std::string text = value.As<Napi::String>().Utf8Value();
  if (text == "get") {
    *verb = syncml::Verb::kGet;
  } else if (text == "add") {
    *verb = syncml::Verb::kAdd;
  } else if (text == "replace") {
    *verb = syncml::Verb::kReplace;
  } else if (text == "delete") {
    *verb = syncml::Verb::kDelete;
  } else if (text == "exec") {
    *verb = syncml::Verb::kExec;
  } else {
    return Fail(env, prefix + ".verb" + kMessage);
  }
  return true;
}

bool ReadOp(Napi::Env env, Napi::Value value, const std::string& prefix, syncml::Op* op) {
  if (!value.IsObject() || value.IsArray()) return Fail(env, prefix + " must be an object");
  Napi::Object object = value.As<Napi::Object>();
  if (!ReadVerb(env, object, prefix, &op->verb)) return false;

  Napi::Value uri;
  if (!GetProperty(env, object, "uri", &uri)) return false;
  if (!uri.IsString() || uri.As<Napi::String>().Utf16Value().empty()) {
    return Fail(env, prefix + ".uri must be a non-empty string");
  }
  std::u16string unused;
  if (!ReadText(env, uri, prefix + ".uri", true, &unused, &op->uri)) return false;

  std::optional<std::string> format, type;
  if (!ReadOptionalField(env, object, prefix, "format", &format) ||
      !ReadOptionalField(env, object, prefix, "type", &type) ||
      !ReadOptionalField(env, object, prefix, "data", &op->data)) {
    return false;
  }
  op->format = format.value_or("");
  op->type = type.value_or("");
  return true;
}

}  // namespace

bool ReadOps(Napi::Env env, Napi::Value value, std::vector<syncml::Op>* ops) {
  if (!value.IsArray()) return Fail(env, "ops must be an array");
  Napi::Array array = value.As<Napi::Array>();
  const std::uint32_t length = array.Length();
  ops->clear();
  ops->reserve(length);
  for (std::uint32_t i = 0; i < length; ++i) {
    Napi::Value element = array.Get(i);
    if (element.IsEmpty() || env.IsExceptionPending()) return false;
    syncml::Op op;
    if (!ReadOp(env, element, "ops[" + std::to_string(i) + "]", &op)) return false;
    ops->push_back(std::move(op));
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

}  // namespace wdm::addon
