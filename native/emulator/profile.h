// The emulated device's profile: the node instances and values a new device starts with (Update
// inventory, installed apps, certificates, Wi-Fi profiles, device facts), seeded whenever a state
// file is created (first run, MdmEmulatorReset, recovery from a corrupt file).
//
// Source: the JSON file named by $WINDOWS_IOT_DM_EMULATOR_PROFILE, else the built-in default
// (native/emulator/profiles/default.json, embedded as default_profile.inc by
// scripts/embed-profile.mjs). Format (strict JSON, see common/json.h):
//
//   {
//     "format": "windows-iot-dm/emulator-profile",     required
//     "version": 1,                                     required
//     "description": "free text",                       optional
//     "device": {                                       optional: friendly names of device facts
//       "manufacturer": "Contoso", "model": "Gateway 9", "oem": "Contoso", ...   (see kDeviceFacts)
//     },
//     "system": {                                       optional: emulated system settings
//       "timeZone": "Pacific Standard Time"             a key name of system_state.h's table, or
//                                                       a time zone object (system/time_zone.h)
//     },                                                (default: UTC)
//     "nodes": {                                        optional: node URI -> value
//       "./Device/Vendor/MSFT/Update/InstalledUpdates/<guid>/RevisionNumber": "200",
//       "./Device/Vendor/MSFT/WiFi/Profile/Corp%20WiFi/WlanXml": "<WLANProfile ...>",
//       "./Device/Vendor/MSFT/EnterpriseModernAppManagement/AppManagement/AppStore": null
//     }
//   }
//
// A node URI is written like a LocURI (segments %-encoded, ./Vendor = ./Device/Vendor, no
// ?query) and must name a node of the schema; missing ancestors are created (with the nodes the
// CSP provides under them). A leaf's value is a string, an integer or a boolean (written as
// text) and must fit the node's format; an interior node's value is null. Access types do not
// apply: the profile describes what the device already holds (e.g. read-only inventory).
// Anything else (unknown member, wrong type, a URI outside the schema, a value that does not fit,
// the same node twice, a device fact also given under "nodes") is an error: the whole profile is
// refused, never half-applied.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "emulator/node_tree.h"
#include "system/time_zone.h"

namespace wdm::emulator {

inline constexpr const char* kProfileEnv = "WINDOWS_IOT_DM_EMULATOR_PROFILE";
inline constexpr const char* kProfileFormat = "windows-iot-dm/emulator-profile";

// A friendly name of the "device" section and the node it sets.
struct DeviceFact {
  const char* name;
  const char* path;
};
extern const DeviceFact kDeviceFacts[];
extern const std::size_t kDeviceFactCount;

class Profile {
 public:
  struct Entry {
    Path path;
    const SchemaNode* node = nullptr;
    std::string value;  // "" for interior nodes
  };

  // Parses and checks `text` against `schema`. `source` names the profile in errors ("built-in
  // default profile" or the file path). False with a one-line *error on any problem.
  static bool Parse(std::string_view text, std::string source, const Schema& schema, Profile* out,
                    std::string* error);
  // $WINDOWS_IOT_DM_EMULATOR_PROFILE when set (and not empty), else the built-in default.
  static bool Load(const Schema& schema, Profile* out, std::string* error);
  // The built-in default profile's JSON text.
  static std::string_view BuiltInText();

  // Seeds `tree`, which must hold the initial tree (NodeTree::Reset) of the schema the profile
  // was parsed against.
  void Apply(NodeTree* tree) const;

  const std::string& source() const { return source_; }
  const std::vector<Entry>& entries() const { return entries_; }  // sorted by path
  // The "system" section's time zone (resolved: explicit fields), if the profile sets one.
  const std::optional<sys::TimeZone>& time_zone() const { return time_zone_; }

 private:
  std::string source_;
  const Schema* schema_ = nullptr;
  std::vector<Entry> entries_;
  std::optional<sys::TimeZone> time_zone_;
};

}  // namespace wdm::emulator
