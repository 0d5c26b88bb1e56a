// Device profile loading and seeding (see profile.h).
#include "emulator/profile.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <utility>

#include "common/json.h"
#include "emulator/system_state.h"
#include "emulator/uri.h"
#include "emulator/value_check.h"

namespace wdm::emulator {

const DeviceFact kDeviceFacts[] = {
    {"deviceId", "./DevInfo/DevId"},
    {"manufacturer", "./DevInfo/Man"},
    {"model", "./DevInfo/Mod"},
    {"language", "./DevInfo/Lang"},
    {"oem", "./DevDetail/OEM"},
    {"deviceType", "./DevDetail/DevTyp"},
    {"firmwareVersion", "./DevDetail/FwV"},
    {"softwareVersion", "./DevDetail/SwV"},
    {"hardwareVersion", "./DevDetail/HwV"},
    {"osPlatform", "./DevDetail/Ext/Microsoft/OSPlatform"},
    {"deviceName", "./DevDetail/Ext/Microsoft/DeviceName"},
    {"dnsComputerName", "./DevDetail/Ext/Microsoft/DNSComputerName"},
    {"serialNumber", "./DevDetail/Ext/Microsoft/SMBIOSSerialNumber"},
};
const std::size_t kDeviceFactCount = sizeof(kDeviceFacts) / sizeof(kDeviceFacts[0]);

namespace {

constexpr std::size_t kMaxProfileBytes = std::size_t{16} << 20;

const char kBuiltInProfile[] =
#include "emulator/profiles/default_profile.inc"
    ;

// A profile value as node text: strings as they are, integers in decimal, booleans as
// true/false; interior nodes take null only.
bool ValueText(const json::Value& value, const SchemaNode& node, std::string* text,
               std::string* why) {
  if (node.is_interior()) {
    if (value.is_null()) return true;
    *why = "an interior node takes null, not a " + std::string(json::TypeName(value.type()));
    return false;
  }
  if (value.is_string()) {
    *text = value.string_value();
  } else if (value.is_int()) {
    *text = std::to_string(value.int_value());
  } else if (value.is_bool()) {
    *text = value.bool_value() ? "true" : "false";
  } else {
    *why = "a leaf takes a string, an integer or a boolean, not a " +
           std::string(json::TypeName(value.type()));
    return false;
  }
  if (!IsValidValue(node.format, *text)) {
    *why =
        "the value does not fit the node's format (" + std::string(FormatName(node.format)) + ")";
    return false;
  }
  return true;
}

bool ReadWholeFile(const std::string& path, std::string* text, std::string* error) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    *error = "cannot open it";
    return false;
  }
  text->clear();
  char buffer[65536];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    text->append(buffer, got);
    if (text->size() > kMaxProfileBytes) break;
  }
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) {
    *error = "cannot read it";
    return false;
  }
  if (text->size() > kMaxProfileBytes) {
    *error = "it is larger than " + std::to_string(kMaxProfileBytes) + " bytes";
    return false;
  }
  return true;
}

}  // namespace

std::string_view Profile::BuiltInText() {
  return std::string_view(kBuiltInProfile, sizeof(kBuiltInProfile) - 1);
}

bool Profile::Parse(std::string_view text, std::string source, const Schema& schema, Profile* out,
                    std::string* error) {
  const auto fail = [&](const std::string& what) {
    *error = "device profile " + source + ": " + what;
    return false;
  };
  json::Value doc;
  json::Error json_error;
  json::Limits limits;
  limits.max_bytes = kMaxProfileBytes;
  if (!json::Parse(text, &doc, &json_error, limits)) {
    return fail("not valid JSON: " + json_error.ToString());
  }
  if (!doc.is_object()) return fail("the top level must be an object");
  for (const json::Value::Member& member : doc.members()) {
    const std::string& key = member.first;
    if (key != "format" && key != "version" && key != "description" && key != "device" &&
        key != "nodes" && key != "system") {
      return fail("unknown member \"" + key +
                  "\" (expected format, version, description, device, nodes, system)");
    }
  }
  const json::Value* format = doc.Find("format");
  if (format == nullptr || format->string_value() != kProfileFormat) {
    return fail(std::string("\"format\" must be \"") + kProfileFormat + "\"");
  }
  const json::Value* version = doc.Find("version");
  if (version == nullptr || !version->is_int()) return fail("\"version\" must be the integer 1");
  if (version->int_value() != 1) {
    return fail("unsupported version " + std::to_string(version->int_value()) +
                " (this library reads version 1)");
  }
  const json::Value* description = doc.Find("description");
  if (description != nullptr && !description->is_string()) {
    return fail("\"description\" must be a string");
  }

  std::optional<sys::TimeZone> time_zone;
  if (const json::Value* system = doc.Find("system")) {
    if (!system->is_object()) return fail("\"system\" must be an object");
    for (const json::Value::Member& member : system->members()) {
      if (member.first != "timeZone") {
        return fail("system." + member.first + ": unknown member (expected timeZone)");
      }
    }
    if (const json::Value* zone = system->Find("timeZone")) {
      sys::TimeZone tz;
      std::string reason;
      if (zone->is_string()) {
        tz.key_name = zone->string_value();
      } else if (!sys::TimeZoneFromJson(*zone, &tz, &reason)) {
        return fail("system.timeZone: " + reason);
      }
      if (sys::SetsByKeyName(tz) || zone->is_string()) {
        if (!LookupTimeZone(tz.key_name, &tz)) {
          return fail("system.timeZone: no time zone has the key name \"" + tz.key_name +
                      "\" (see native/emulator/system_state.h for the ones the emulator knows)");
        }
      }
      time_zone = tz;
    }
  }

  // Everything the profile sets, by decoded path; `origin` says how it was written.
  struct Pending {
    std::string origin;
    const json::Value* value;
  };
  std::map<Path, Pending> pending;
  const auto add = [&](const std::string& origin, std::string_view uri,
                       const json::Value& value) -> bool {
    NodeUri parsed;
    if (!ParseLocUri(uri, &parsed) || parsed.has_query) {
      return fail(origin + ": not a valid node URI (LocURI syntax, %-encoded segments, no ?query)");
    }
    const auto [it, inserted] = pending.emplace(parsed.path, Pending{origin, &value});
    if (!inserted) return fail(origin + ": the same node is already set by " + it->second.origin);
    return true;
  };

  if (const json::Value* device = doc.Find("device")) {
    if (!device->is_object()) return fail("\"device\" must be an object");
    for (const json::Value::Member& member : device->members()) {
      const DeviceFact* fact = nullptr;
      for (std::size_t i = 0; i < kDeviceFactCount; ++i) {
        if (member.first == kDeviceFacts[i].name) fact = &kDeviceFacts[i];
      }
      if (fact == nullptr) {
        std::string known;
        for (std::size_t i = 0; i < kDeviceFactCount; ++i) {
          known += (i ? ", " : "") + std::string(kDeviceFacts[i].name);
        }
        return fail("device." + member.first + ": unknown device fact (known: " + known + ")");
      }
      if (!member.second.is_string()) return fail("device." + member.first + ": must be a string");
      if (!add("device." + member.first, fact->path, member.second)) return false;
    }
  }
  if (const json::Value* nodes = doc.Find("nodes")) {
    if (!nodes->is_object()) return fail("\"nodes\" must be an object");
    for (const json::Value::Member& member : nodes->members()) {
      if (!add("nodes[\"" + member.first + "\"]", member.first, member.second)) return false;
    }
  }

  Profile profile;
  profile.source_ = source;
  profile.schema_ = &schema;
  profile.time_zone_ = std::move(time_zone);
  for (const auto& [path, item] : pending) {
    const SchemaNode* node = schema.Resolve(path);
    if (node == nullptr || path.empty()) {
      return fail(item.origin + " (" + FormatPath(path) + "): not a node of the schema");
    }
    Entry entry;
    entry.path = path;
    entry.node = node;
    std::string why;
    if (!ValueText(*item.value, *node, &entry.value, &why)) {
      return fail(item.origin + " (" + FormatPath(path) + "): " + why);
    }
    profile.entries_.push_back(std::move(entry));
  }
  *out = std::move(profile);
  return true;
}

bool Profile::Load(const Schema& schema, Profile* out, std::string* error) {
  const char* path = std::getenv(kProfileEnv);
  if (path == nullptr || *path == '\0') {
    return Parse(BuiltInText(), "(built-in default)", schema, out, error);
  }
  std::string text;
  std::string why;
  if (!ReadWholeFile(path, &text, &why)) {
    *error = std::string("device profile ") + path + " (from $" + kProfileEnv + "): " + why;
    return false;
  }
  return Parse(text, path, schema, out, error);
}

void Profile::Apply(NodeTree* tree) const {
  // Entries are sorted by path, so ancestors that are entries come before their descendants.
  for (const Entry& entry : entries_) {
    Path ancestor;
    for (std::size_t i = 0; i + 1 < entry.path.size(); ++i) {
      ancestor.push_back(entry.path[i]);
      if (tree->Find(ancestor) == nullptr) {
        tree->Create(ancestor, *schema_->Resolve(ancestor), std::string());
      }
    }
    if (tree->Find(entry.path) != nullptr) {
      tree->SetValue(entry.path, entry.value);
    } else {
      tree->Create(entry.path, *entry.node, entry.value);
    }
  }
}

}  // namespace wdm::emulator
