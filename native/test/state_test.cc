// Tests of the emulator's persistence (state_store.h) and device profile (profile.h): round trip
// across a restart (two library instances = two Engine + StateStore pairs on one file), reloads,
// no writes for Gets, corrupt files moved aside and reported, write failures rolled back, the
// fsync/rename path, forked processes hammering one file, profile loading and its errors, and
// the C ABI with $WINDOWS_IOT_DM_EMULATOR_STATE / _PROFILE.
//
// Temporary files go under $WINDOWS_IOT_DM_TEST_TMP (else a new directory in /tmp).
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/json.h"
#include "emulator/emulator_abi.h"
#include "emulator/engine.h"
#include "emulator/profile.h"
#include "emulator/seed.h"
#include "emulator/state_store.h"
#include "emulator/uri.h"
#include "emulator/utf16_text.h"
#include "syncml/codec.h"
#include "test/test_ops.h"
#include "test/test_util.h"

namespace {

using wdm::emulator::Engine;
using wdm::emulator::Path;
using wdm::emulator::Profile;
using wdm::emulator::Schema;
using wdm::emulator::StateStore;
using wdm::json::Value;
using wdm::syncml::Op;
using wdm::syncml::OpResult;
using wdm::syncml::Verb;

constexpr int32_t kWriteFault = static_cast<int32_t>(0x8007001Du);
constexpr int32_t kBadConfiguration = static_cast<int32_t>(0x8007064Au);

const std::string kDevName = "./DevDetail/Ext/Microsoft/DeviceName";
const std::string kStart = "./Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart";
const std::string kWifi = "./Device/Vendor/MSFT/WiFi/Profile";
const std::string kRoot = "./Device/Vendor/MSFT/RootCATrustedCertificates/Root";
const std::string kRebootNow = "./Device/Vendor/MSFT/Reboot/RebootNow";

const char kTestProfile[] = R"({
  "format": "windows-iot-dm/emulator-profile",
  "version": 1,
  "description": "state_test",
  "device": {"manufacturer": "Contoso", "model": "Gateway 9"},
  "nodes": {
    "./Vendor/MSFT/Update/InstalledUpdates/11111111-2222-4333-8444-555555555555/RevisionNumber": 200,
    "./Device/Vendor/MSFT/WiFi/Profile/Corp%20WiFi/WlanXml": "<WLANProfile/>",
    "./Device/Vendor/MSFT/EnterpriseModernAppManagement/AppManagement/AppStore": null,
    "./Device/Vendor/MSFT/RootCATrustedCertificates/Root/AB12/EncodedCertificate": "QUJD"
  }
})";

const char kEmptyProfile[] = R"({"format": "windows-iot-dm/emulator-profile", "version": 1})";

const Schema& TheSchema() {
  static const Schema* const schema = [] {
    std::unique_ptr<Schema> built;
    std::string error;
    if (!wdm::emulator::BuildSeedSchema(&built, &error)) {
      std::fprintf(stderr, "seed schema: %s\n", error.c_str());
      std::abort();
    }
    return built.release();
  }();
  return *schema;
}

Profile ParseProfile(const std::string& text) {
  Profile profile;
  std::string error;
  if (!CHECK(Profile::Parse(text, "test profile", TheSchema(), &profile, &error))) {
    std::fprintf(stderr, "  %s\n", error.c_str());
  }
  return profile;
}

// ---- files ----------------------------------------------------------------------------------

std::string TempRoot() {
  static const std::string root = [] {
    const char* base = std::getenv("WINDOWS_IOT_DM_TEST_TMP");
    std::string dir = std::string(base != nullptr ? base : "/tmp") + "/state_test.XXXXXX";
    if (mkdtemp(dir.data()) == nullptr) std::abort();
    return dir;
  }();
  return root;
}

// A new empty directory under the temp root.
std::string NewDir(const std::string& name) {
  const std::string dir = TempRoot() + "/" + name;
  mkdir(dir.c_str(), 0700);
  return dir;
}

// rm -r (no symlinks are followed: nftw with FTW_PHYS).
void RemoveTree(const std::string& dir) {
  nftw(
      dir.c_str(),
      [](const char* path, const struct stat*, int, struct FTW*) { return remove(path); }, 16,
      FTW_DEPTH | FTW_PHYS);
}

bool ReadFile(const std::string& path, std::string* text) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return false;
  text->clear();
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) text->append(buffer, n);
  std::fclose(file);
  return true;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) std::abort();
  std::fwrite(text.data(), 1, text.size(), file);
  std::fclose(file);
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* entry = readdir(d)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  return names;
}

bool HasPrefixIn(const std::vector<std::string>& names, const std::string& prefix) {
  for (const std::string& name : names) {
    if (name.compare(0, prefix.size(), prefix) == 0) return true;
  }
  return false;
}

// The state file as JSON (null when missing or not JSON).
Value ReadState(const std::string& path) {
  std::string text;
  Value doc;
  wdm::json::Error error;
  if (!ReadFile(path, &text) || !wdm::json::Parse(text, &doc, &error)) return Value();
  return doc;
}

std::int64_t Generation(const std::string& path) {
  const Value doc = ReadState(path);
  const Value* generation = doc.Find("generation");
  return generation != nullptr ? generation->int_value() : -1;
}

// Redirects stderr into a file until Finish().
class StderrCapture {
 public:
  StderrCapture() : path_(TempRoot() + "/stderr.txt") {
    std::fflush(stderr);
    saved_ = dup(2);
    const int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
  }
  std::string Finish() {
    std::fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    std::string text;
    ReadFile(path_, &text);
    return text;
  }

 private:
  std::string path_;
  int saved_ = -1;
};

bool Contains(const std::string& text, const std::string& fragment) {
  if (text.find(fragment) != std::string::npos) return true;
  std::fprintf(stderr, "  '%s' not found in: %s\n", fragment.c_str(), text.c_str());
  return false;
}

// ---- one library instance: engine + store ----------------------------------------------------

using wdm::test::MakeOp;
Op Get(std::string uri) { return MakeOp(Verb::kGet, std::move(uri)); }

struct Device {
  Device(const std::string& path, const Profile& profile)
      : engine(TheSchema()), store(TheSchema(), path, profile) {}

  // One Apply: Begin, the request, Commit. Returns the HRESULT of Begin or Commit.
  int32_t Run(const std::vector<Op>& ops, std::vector<OpResult>* results = nullptr,
              bool atomic = false) {
    int32_t hr = store.Begin(engine.mutable_tree(), engine.mutable_events());
    if (hr != 0) return hr;
    const std::string response = engine.HandleRequest(wdm::syncml::EncodeOps(ops, atomic));
    hr = store.Commit(engine.mutable_tree(), engine.mutable_events());
    std::vector<OpResult> decoded;
    std::string error;
    CHECK(wdm::syncml::DecodeOpResults(response, ops, atomic, &decoded, &error));
    if (results != nullptr) *results = std::move(decoded);
    return hr;
  }
  int Status(const Op& op) {
    std::vector<OpResult> r;
    if (Run({op}, &r) != 0 || r.size() != 1) return -1;
    return r[0].status;
  }
  std::string Value(const std::string& uri) {
    std::vector<OpResult> r;
    if (Run({Get(uri)}, &r) != 0 || r.size() != 1) return "<apply failed>";
    if (r[0].status != 200) return "<status " + std::to_string(r[0].status) + ">";
    return r[0].items.size() == 1 ? r[0].items[0].data.value_or("") : "<items>";
  }
  // The instance map: canonical path -> value.
  std::vector<std::pair<std::string, std::string>> Dump() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [path, instance] : engine.tree().Subtree(Path())) {
      out.emplace_back(wdm::emulator::FormatPath(path), instance->value);
    }
    return out;
  }
  // The tree value of a node (no Get hooks involved), or "<missing>".
  std::string TreeValue(const std::string& uri) const {
    wdm::emulator::NodeUri parsed;
    if (!wdm::emulator::ParseLocUri(uri, &parsed)) return "<bad uri>";
    const wdm::emulator::Instance* instance = engine.tree().Find(parsed.path);
    return instance != nullptr ? instance->value : "<missing>";
  }

  Engine engine;
  StateStore store;
};

// ---- tests ----------------------------------------------------------------------------------

void TestRoundTrip() {
  const std::string dir = NewDir("roundtrip");
  const std::string path = dir + "/nested/deeper/state.json";
  const Profile profile = ParseProfile(kTestProfile);
  Device a(path, profile);
  CHECK_EQ(a.Value("./DevDetail/SwV").empty(), false);
  // Created with the profile: directories 0700, file 0600, generation 1.
  struct stat st;
  CHECK(stat((dir + "/nested").c_str(), &st) == 0 && (st.st_mode & 0777) == 0700);
  CHECK(stat((dir + "/nested/deeper").c_str(), &st) == 0 && (st.st_mode & 0777) == 0700);
  CHECK(stat(path.c_str(), &st) == 0 && (st.st_mode & 0777) == 0600);
  CHECK_EQ(Generation(path), 1);
  CHECK_EQ(a.TreeValue("./DevInfo/Man"), std::string("Contoso"));
  CHECK_EQ(a.Value(kWifi + "/Corp%20WiFi/WlanXml"), std::string("<WLANProfile/>"));
  CHECK_EQ(a.Value("./Device/Vendor/MSFT/Update/InstalledUpdates"),
           std::string("11111111-2222-4333-8444-555555555555"));
  CHECK_EQ(a.Value(kRoot + "/AB12/EncodedCertificate"), std::string("QUJD"));

  // Changes of every kind, one Apply each.
  CHECK_EQ(a.Status(MakeOp(Verb::kReplace, kDevName, "chr", "renamed")), 200);
  CHECK_EQ(a.Status(MakeOp(Verb::kAdd, kStart, "int", "8")), 200);
  CHECK_EQ(a.Status(MakeOp(Verb::kAdd, kWifi + "/Lab%2F5%20GHz%20%E2%82%AC/WlanXml", "chr",
                           "<WLANProfile>\"q\" & \xF0\x9F\x98\x80\n</WLANProfile>")),
           200);
  CHECK_EQ(a.Status(MakeOp(Verb::kDelete, kRoot + "/AB12")), 200);
  CHECK_EQ(a.Status(MakeOp(Verb::kDelete, "./Device/Vendor/MSFT/CertificateStore")), 200);
  CHECK_EQ(a.Status(MakeOp(Verb::kReplace, kWifi + "/Corp%20WiFi/WlanXml", "chr", "<v2/>")), 200);
  // An events-only change, made inside a transaction as a behaviour would.
  CHECK_EQ(a.store.Begin(a.engine.mutable_tree(), a.engine.mutable_events()), 0);
  a.engine.mutable_events()->Set("custom", Value::String("noted \xC3\xA9"));
  CHECK_EQ(a.store.Commit(a.engine.mutable_tree(), a.engine.mutable_events()), 0);
  const std::int64_t generation = Generation(path);
  CHECK(generation >= 8);

  // A restart: a second instance on the same file sees exactly the same device.
  Device b(path, ParseProfile(kEmptyProfile));  // the profile only matters for a new state
  CHECK_EQ(b.Status(Get("./DevDetail/SwV")), 200);
  CHECK(a.Dump() == b.Dump());
  CHECK_EQ(a.Dump().size(), b.Dump().size());
  CHECK(a.engine.events() == b.engine.events());
  CHECK_EQ(b.TreeValue("./DevInfo/Man"), std::string("Contoso"));
  CHECK_EQ(b.Value(kStart), std::string("8"));
  CHECK_EQ(b.Value(kWifi + "/Lab%2F5%20GHz%20%E2%82%AC/WlanXml"),
           std::string("<WLANProfile>\"q\" & \xF0\x9F\x98\x80\n</WLANProfile>"));
  CHECK_EQ(b.Status(Get(kRoot + "/AB12")), 404);
  CHECK_EQ(b.Status(Get("./Device/Vendor/MSFT/CertificateStore/MY")), 404);
  CHECK_EQ(Generation(path), generation);  // loading and Gets write nothing

  // The file: the documented shape.
  const Value doc = ReadState(path);
  CHECK_EQ(doc.Find("format")->string_value(), std::string("windows-iot-dm/emulator-state"));
  CHECK_EQ(doc.Find("version")->int_value(), 1);
  CHECK_EQ(doc.Find("profile")->string_value(), std::string("test profile"));
  const Value* deleted = doc.Find("deleted");
  CHECK(deleted != nullptr && deleted->size() == 1 &&
        deleted->items()[0].string_value() == "./Device/Vendor/MSFT/CertificateStore");
  const Value* nodes = doc.Find("nodes");
  CHECK(nodes != nullptr && nodes->Find(kStart) != nullptr &&
        nodes->Find(kStart)->string_value() == "8");
  CHECK(nodes != nullptr && nodes->Find("./Device/Vendor/MSFT/Policy/Config") != nullptr);
  CHECK(nodes != nullptr && nodes->Find("./DevInfo/Man") != nullptr);
  CHECK(nodes != nullptr && nodes->Find("./DevDetail/SwV") == nullptr);  // unchanged: not saved
  CHECK(doc.Find("events")->Find("custom") != nullptr);
  // Both instances keep working on the same file: each sees the other's writes.
  CHECK_EQ(b.Status(MakeOp(Verb::kReplace, kStart, "int", "9")), 200);
  CHECK_EQ(a.Value(kStart), std::string("9"));
  CHECK_EQ(a.Status(MakeOp(Verb::kReplace, kStart, "int", "10")), 200);
  CHECK_EQ(b.Value(kStart), std::string("10"));
  CHECK_EQ(Generation(path), generation + 2);
  CHECK(!HasPrefixIn(ListDir(dir + "/nested/deeper"), "state.json.tmp-"));
}

// Random changes, saved by one instance and loaded by another: the instance maps are equal after
// every step; CSP-provided nodes at their defaults are not written out.
void TestRandomRoundTrips() {
  const std::string dir = NewDir("random");
  const std::string path = dir + "/state.json";
  Device a(path, ParseProfile(kTestProfile));
  Device b(path, ParseProfile(kEmptyProfile));
  const std::string cs = "./Device/Vendor/MSFT/CertificateStore";
  const std::string store =
      "./Device/Vendor/MSFT/EnterpriseModernAppManagement/AppManagement/AppStore";
  const std::vector<std::string> uris = {
      kStart,
      "./Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursEnd",
      "./Device/Vendor/MSFT/Policy/Config",
      kWifi + "/A/WlanXml",
      kWifi + "/B%20b/WlanXml",
      kWifi + "/A/WiFiCost",
      kWifi + "/A",
      kWifi + "/Corp%20WiFi",
      kRoot + "/T1/EncodedCertificate",
      kRoot + "/T1",
      kRoot + "/AB12",
      cs,
      cs + "/MY/User/T2/EncodedCertificate",
      store + "/Pfn_1/Full_1",
      store,
      kDevName,
  };
  const std::vector<std::pair<std::string, std::string>> values = {
      {"int", "3"}, {"int", "9"}, {"chr", "x"}, {"chr", "<W/>"}, {"b64", "QUJD"}, {"node", ""}};
  std::uint32_t state = 7;
  auto next = [&state]() {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
  };
  int written = 0;
  for (int round = 0; round < 300; ++round) {
    std::vector<Op> ops;
    const int count = 1 + next() % 4;
    for (int k = 0; k < count; ++k) {
      const std::string& uri = uris[next() % uris.size()];
      const auto& [format, data] = values[next() % values.size()];
      switch (next() % 3) {
        case 0:
          ops.push_back(MakeOp(Verb::kAdd, uri, format, data));
          break;
        case 1:
          ops.push_back(MakeOp(Verb::kReplace, uri, format, data));
          break;
        default:
          ops.push_back(MakeOp(Verb::kDelete, uri));
      }
    }
    const std::int64_t before = Generation(path);
    if (!CHECK_EQ(a.Run(ops, nullptr, next() % 5 == 0), 0)) break;
    if (Generation(path) != before) ++written;
    if (!CHECK_EQ(b.Run({Get("./DevDetail/SwV")}), 0)) break;
    if (!CHECK(a.Dump() == b.Dump())) {
      std::fprintf(stderr, "  round %d differs after a reload\n", round);
      break;
    }
  }
  CHECK(written > 50);
  // What the file lists: no default-valued node the CSP provides below a new instance.
  a.Status(MakeOp(Verb::kDelete, "./Device/Vendor/MSFT/Policy/Config"));  // 200 or 404
  CHECK_EQ(a.Status(MakeOp(Verb::kAdd, kStart, "int", "8")), 200);
  const Value doc = ReadState(path);
  const Value* nodes = doc.Find("nodes");
  CHECK(nodes != nullptr && nodes->Find("./Device/Vendor/MSFT/Policy/Config") != nullptr);
  CHECK(nodes != nullptr && nodes->Find("./Device/Vendor/MSFT/Policy/Config/Update") == nullptr);
  CHECK(nodes != nullptr && nodes->Find(kStart) != nullptr);
  CHECK(nodes != nullptr && nodes->Find(kWifi + "/Corp%20WiFi/ProfileSource") == nullptr);
}

void TestWritesOnlyOnChange() {
  const std::string dir = NewDir("nowrite");
  const std::string path = dir + "/state.json";
  Device d(path, ParseProfile(kEmptyProfile));
  CHECK_EQ(d.Status(MakeOp(Verb::kAdd, kStart, "int", "8")), 200);
  struct stat before;
  stat(path.c_str(), &before);
  const std::int64_t generation = Generation(path);
  CHECK_EQ(d.Value(kStart), std::string("8"));                          // Get
  CHECK_EQ(d.Status(MakeOp(Verb::kReplace, kStart, "int", "8")), 200);  // same value
  CHECK_EQ(d.Status(MakeOp(Verb::kAdd, kStart, "int", "9")), 418);      // failed
  CHECK_EQ(d.Status(MakeOp(Verb::kReplace, "./DevDetail/SwV", "chr", "x")), 405);
  std::vector<OpResult> r;  // an Atomic that fails and rolls back
  CHECK_EQ(d.Run({MakeOp(Verb::kReplace, kStart, "int", "12"),
                  MakeOp(Verb::kReplace, "./DevDetail/SwV", "chr", "x")},
                 &r, true),
           0);
  CHECK(r.size() == 2 && r[0].status == 216 && r[1].status == 405);
  // A reboot recorded in the events by the Exec behaviour, inside an Atomic that fails: the
  // events are rolled back with the tree, nothing is written.
  const Value events_before = d.engine.events();
  CHECK_EQ(d.Run({MakeOp(Verb::kExec, kRebootNow),
                  MakeOp(Verb::kReplace, "./DevDetail/SwV", "chr", "x")},
                 &r, true),
           0);
  CHECK(r.size() == 2 && r[0].status == 216 && r[1].status == 405);
  CHECK(d.engine.events() == events_before);
  CHECK_EQ(d.Run({MakeOp(Verb::kReplace, kStart, "int", "13"),  // changed and changed back
                  MakeOp(Verb::kReplace, kStart, "int", "8")}),
           0);
  struct stat after;
  stat(path.c_str(), &after);
  CHECK_EQ(Generation(path), generation);
  CHECK(before.st_ino == after.st_ino && before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
        before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
  CHECK_EQ(d.Status(MakeOp(Verb::kReplace, kStart, "int", "9")), 200);
  CHECK_EQ(Generation(path), generation + 1);
  stat(path.c_str(), &after);
  CHECK(before.st_ino != after.st_ino);  // written by rename: a new file
  // An Exec whose behaviour records an event changes the events only: that is written too.
  CHECK_EQ(d.Status(MakeOp(Verb::kExec, kRebootNow)), 200);
  CHECK_EQ(Generation(path), generation + 2);
  CHECK(!(d.engine.events() == events_before));
  const Value saved = ReadState(path);
  CHECK(saved.Find("events") != nullptr && *saved.Find("events") == d.engine.events());
}

void TestExternalChanges() {
  const std::string dir = NewDir("external");
  const std::string path = dir + "/state.json";
  Device d(path, ParseProfile(kEmptyProfile));
  CHECK_EQ(d.Status(MakeOp(Verb::kAdd, kStart, "int", "8")), 200);
  // Another program edits the file in place (same inode): the size/mtime change is noticed.
  std::string text;
  CHECK(ReadFile(path, &text));
  const std::size_t at = text.find("\"8\"");
  CHECK(at != std::string::npos);
  if (at != std::string::npos) text.replace(at, 3, "\"17\"");
  {
    std::FILE* file = std::fopen(path.c_str(), "r+b");
    std::fwrite(text.data(), 1, text.size(), file);
    std::fclose(file);
  }
  CHECK_EQ(d.Value(kStart), std::string("17"));
  // The file is deleted: a new device state from the profile.
  const std::int64_t generation = Generation(path);
  unlink(path.c_str());
  CHECK_EQ(d.Status(Get(kStart)), 404);
  CHECK_EQ(Generation(path), generation + 1);  // generations keep counting up in this process
}

struct CorruptCase {
  const char* name;
  std::string text;
  const char* reason;
};

void TestCorruptFiles() {
  const std::vector<CorruptCase> cases = {
      {"empty", "", "not valid JSON: line 1, column 1 (byte 0): unexpected end of input"},
      {"truncated", "{\"format\": \"windows-iot-dm/emulator-state\", \"nodes\": {",
       "not valid JSON"},
      {"bom", "\xEF\xBB\xBF{}", "byte order mark"},
      {"latin1", "{\"a\": \"\xE9\"}", "invalid UTF-8"},
      {"array", "[]", "the top level is not an object"},
      {"format",
       R"({"format": "other", "version": 1, "generation": 1, "nodes": {}, "deleted": [],
           "events": {}})",
       "\"format\" is not \"windows-iot-dm/emulator-state\""},
      {"version",
       R"({"format": "windows-iot-dm/emulator-state", "version": 2, "generation": 1,
           "nodes": {}, "deleted": [], "events": {}})",
       "unsupported \"version\""},
      {"unknown member",
       R"({"format": "windows-iot-dm/emulator-state", "version": 1, "generation": 1,
           "nodes": {}, "deleted": [], "events": {}, "extra": 1})",
       "unknown member \"extra\""},
      {"no events",
       R"({"format": "windows-iot-dm/emulator-state", "version": 1, "generation": 1,
           "nodes": {}, "deleted": []})",
       "\"events\" is not an object"},
      {"unknown node",
       R"({"format": "windows-iot-dm/emulator-state", "version": 1, "generation": 1,
           "nodes": {"./Device/Vendor/MSFT/NoSuchCsp": ""}, "deleted": [], "events": {}})",
       "node ./Device/Vendor/MSFT/NoSuchCsp is not a node of the schema"},
      {"bad value",
       R"({"format": "windows-iot-dm/emulator-state", "version": 1, "generation": 1,
           "nodes": {"./DevDetail/Ext/Microsoft/TotalRAM": "lots"}, "deleted": [], "events": {}})",
       "does not fit its format (int)"},
      {"orphan",
       R"({"format": "windows-iot-dm/emulator-state", "version": 1, "generation": 1,
           "nodes": {"./Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart": "8"},
           "deleted": [], "events": {}})",
       "has no parent node"},
      {"alias path",
       R"({"format": "windows-iot-dm/emulator-state", "version": 1, "generation": 1,
           "nodes": {"./Vendor/MSFT/Reboot/Schedule/Single": ""}, "deleted": [], "events": {}})",
       "is not a canonical node path"},
      {"deleted twice",
       R"({"format": "windows-iot-dm/emulator-state", "version": 1, "generation": 1,
           "nodes": {}, "deleted": ["./DevDetail/Ext", "./DevDetail/Ext"], "events": {}})",
       "deleted node ./DevDetail/Ext does not exist"},
      {"value type",
       R"({"format": "windows-iot-dm/emulator-state", "version": 1, "generation": 1,
           "nodes": {"./DevDetail/Ext/Microsoft/TotalRAM": 5}, "deleted": [], "events": {}})",
       "does not hold a string"},
  };
  const std::string dir = NewDir("corrupt");
  const std::string path = dir + "/state.json";
  const Profile profile = ParseProfile(kTestProfile);
  int index = 0;
  for (const CorruptCase& c : cases) {
    ++index;
    for (const std::string& name : ListDir(dir)) unlink((dir + "/" + name).c_str());
    WriteFile(path, c.text);
    Device d(path, profile);
    StderrCapture capture;
    const int status = d.Status(Get(kWifi + "/Corp%20WiFi/WlanXml"));
    const std::string err = capture.Finish();
    if (!CHECK_EQ(status, 200)) std::fprintf(stderr, "  case %s\n", c.name);
    // Reported in one line naming the file and the reason.
    CHECK(Contains(err, "windows-iot-dm emulator: the state file " + path + " is corrupt ("));
    CHECK(Contains(err, c.reason));
    CHECK(Contains(err, "; moved it to " + path + ".corrupt-"));
    CHECK_EQ(std::count(err.begin(), err.end(), '\n'), 1);
    // Moved aside byte for byte, never deleted.
    std::string moved;
    for (const std::string& name : ListDir(dir)) {
      if (name.rfind("state.json.corrupt-", 0) == 0) moved = dir + "/" + name;
    }
    std::string kept;
    CHECK(!moved.empty() && ReadFile(moved, &kept) && kept == c.text);
    // A new state from the profile, with the recovery recorded.
    const Value doc = ReadState(path);
    const Value* recovered = doc.Find("events") ? doc.Find("events")->Find("recovered") : nullptr;
    CHECK(recovered != nullptr && recovered->Find("file") != nullptr &&
          recovered->Find("file")->string_value() == moved);
    CHECK(recovered != nullptr && recovered->Find("reason") != nullptr &&
          Contains(recovered->Find("reason")->string_value(), c.reason));
    CHECK(recovered != nullptr && recovered->Find("at") != nullptr &&
          recovered->Find("at")->string_value().size() == 20);
    CHECK(d.engine.events().Find("recovered") != nullptr);
    CHECK_EQ(d.TreeValue("./DevInfo/Man"), std::string("Contoso"));
  }
  // Two corrupt files within one second do not overwrite each other.
  for (const std::string& name : ListDir(dir)) unlink((dir + "/" + name).c_str());
  for (int i = 0; i < 3; ++i) {
    WriteFile(path, "garbage " + std::to_string(i));
    Device d(path, profile);
    StderrCapture capture;
    CHECK_EQ(d.Status(Get("./DevDetail/SwV")), 200);
    capture.Finish();
  }
  int moved_count = 0;
  for (const std::string& name : ListDir(dir)) {
    if (name.rfind("state.json.corrupt-", 0) == 0) ++moved_count;
  }
  CHECK(moved_count == 3);
  // A file that changed under a running instance and is now corrupt: recovered the same way.
  Device d(path, profile);
  CHECK_EQ(d.Status(MakeOp(Verb::kAdd, kStart, "int", "8")), 200);
  WriteFile(path, "{");
  StderrCapture capture;
  CHECK_EQ(d.Status(Get(kStart)), 404);
  CHECK(Contains(capture.Finish(), "is corrupt (not valid JSON"));
}

void TestWriteFailures() {
  const std::string dir = NewDir("writefail");
  const std::string path = dir + "/state.json";
  Device d(path, ParseProfile(kEmptyProfile));
  CHECK_EQ(d.Status(MakeOp(Verb::kAdd, kStart, "int", "8")), 200);
  const std::int64_t generation = Generation(path);
  std::string before;
  CHECK(ReadFile(path, &before));
  const struct {
    int step;
    int error_number;
    const char* message;
  } faults[] = {{1, EACCES, "cannot create a temporary file"},
                {2, ENOSPC, "cannot write"},
                {3, EIO, "cannot flush"},
                {4, EXDEV, "cannot rename"}};
  for (const auto& fault : faults) {
    wdm::emulator::SetStateWriteFaultForTest(fault.step, fault.error_number);
    StderrCapture capture;
    std::vector<OpResult> r;
    const int32_t hr = d.Run({MakeOp(Verb::kReplace, kStart, "int", "9"),
                              MakeOp(Verb::kAdd, kWifi + "/New/WlanXml", "chr", "x")},
                             &r);
    const std::string err = capture.Finish();
    CHECK_EQ(hr, kWriteFault);
    CHECK(Contains(err, "cannot write the state file " + path + ": " + fault.message));
    CHECK(Contains(err, std::strerror(fault.error_number)));
    // Rolled back to the file; the file is untouched; no temporary file left behind.
    CHECK_EQ(d.TreeValue(kStart), std::string("8"));
    CHECK_EQ(d.TreeValue(kWifi + "/New"), std::string("<missing>"));
    std::string now;
    CHECK(ReadFile(path, &now) && now == before);
    CHECK_EQ(ListDir(dir).size(), std::size_t{2});  // state.json, state.json.lock
  }
  CHECK_EQ(d.Value(kStart), std::string("8"));
  CHECK_EQ(Generation(path), generation);
  // Events changed in a failed Apply are rolled back too.
  CHECK_EQ(d.store.Begin(d.engine.mutable_tree(), d.engine.mutable_events()), 0);
  d.engine.mutable_events()->Set("custom", Value::Int(1));
  wdm::emulator::SetStateWriteFaultForTest(2, ENOSPC);
  StderrCapture capture;
  CHECK_EQ(d.store.Commit(d.engine.mutable_tree(), d.engine.mutable_events()), kWriteFault);
  capture.Finish();
  CHECK(d.engine.events().Find("custom") == nullptr);
  // The directory fsync fails after the rename: the Apply fails but the new state is on disk.
  wdm::emulator::SetStateWriteFaultForTest(5, EIO);
  StderrCapture capture2;
  CHECK_EQ(d.Run({MakeOp(Verb::kReplace, kStart, "int", "11")}), kWriteFault);
  CHECK(Contains(capture2.Finish(), "but cannot flush its directory"));
  CHECK_EQ(d.TreeValue(kStart), std::string("11"));
  CHECK_EQ(Generation(path), generation + 1);
  CHECK_EQ(d.Value(kStart), std::string("11"));
  // A new state that cannot be written: Begin fails, nothing is created, the next Apply retries.
  const std::string fresh = dir + "/fresh.json";
  Device e(fresh, ParseProfile(kEmptyProfile));
  wdm::emulator::SetStateWriteFaultForTest(4, ENOSPC);
  StderrCapture capture3;
  CHECK_EQ(e.Run({Get("./DevDetail/SwV")}), kWriteFault);
  capture3.Finish();
  struct stat st;
  CHECK(stat(fresh.c_str(), &st) != 0);
  CHECK_EQ(e.Status(Get("./DevDetail/SwV")), 200);
  CHECK_EQ(Generation(fresh), 1);
}

void TestMemoryState() {
  Device d(wdm::emulator::kStateMemory, ParseProfile(kTestProfile));
  CHECK(d.store.in_memory());
  CHECK_EQ(d.Value(kWifi + "/Corp%20WiFi/WlanXml"), std::string("<WLANProfile/>"));
  CHECK_EQ(d.Status(MakeOp(Verb::kAdd, kStart, "int", "8")), 200);
  CHECK_EQ(d.Value(kStart), std::string("8"));
  CHECK_EQ(d.store.Reset(d.engine.mutable_tree(), d.engine.mutable_events()), 0);
  CHECK_EQ(d.Status(Get(kStart)), 404);
  struct stat st;
  CHECK(stat(":memory:", &st) != 0 && stat(":memory:.lock", &st) != 0);
}

void TestProfiles() {
  const Schema& schema = TheSchema();
  // The built-in default: valid against the schema and the same text as profiles/default.json.
  Profile builtin;
  std::string error;
  CHECK(Profile::Parse(Profile::BuiltInText(), "built-in", schema, &builtin, &error));
  CHECK(builtin.entries().size() > 50);
  std::string file;
  CHECK(ReadFile("native/emulator/profiles/default.json", &file));
  if (!CHECK(file == Profile::BuiltInText())) {
    std::fprintf(stderr, "  default_profile.inc is stale: run node scripts/embed-profile.mjs\n");
  }
  // What a profile does to a new tree.
  const Profile profile = ParseProfile(kTestProfile);
  wdm::emulator::NodeTree tree(schema);
  profile.Apply(&tree);
  const auto value = [&tree](const Path& path) {
    const wdm::emulator::Instance* instance = tree.Find(path);
    return instance != nullptr ? instance->value : std::string("<missing>");
  };
  CHECK_EQ(value({"DevInfo", "Mod"}), std::string("Gateway 9"));
  CHECK_EQ(value({"Device", "Vendor", "MSFT", "Update", "InstalledUpdates",
                  "11111111-2222-4333-8444-555555555555", "RevisionNumber"}),
           std::string("200"));
  CHECK_EQ(value({"Device", "Vendor", "MSFT", "WiFi", "Profile", "Corp WiFi", "ProfileSource"}),
           std::string("0"));  // provided by the CSP under the new instance, DDF default
  CHECK_EQ(value({"Device", "Vendor", "MSFT", "EnterpriseModernAppManagement", "AppManagement",
                  "AppStore"}),
           std::string(""));
  CHECK_EQ(
      value({"Device", "Vendor", "MSFT", "RootCATrustedCertificates", "Root", "AB12", "IssuedBy"}),
      std::string(""));

  // Errors: one line naming the profile and the problem; nothing is half-loaded.
  const auto fails = [&schema](const std::string& text, const std::string& fragment) {
    Profile out;
    std::string why;
    const bool ok = Profile::Parse(text, "p.json", schema, &out, &why);
    const bool good = !ok && why.rfind("device profile p.json: ", 0) == 0 &&
                      why.find(fragment) != std::string::npos && out.entries().empty();
    if (!good)
      std::fprintf(stderr, "  profile error: %s (wanted '%s')\n", why.c_str(), fragment.c_str());
    return good;
  };
  const std::string head = R"({"format": "windows-iot-dm/emulator-profile", "version": 1, )";
  CHECK(fails("{\"format\": ", "not valid JSON: line 1, column 12 (byte 11)"));
  CHECK(fails("[]", "the top level must be an object"));
  CHECK(fails(R"({"format": "x", "version": 1})", "\"format\" must be"));
  CHECK(fails(R"({"format": "windows-iot-dm/emulator-profile", "version": 2})",
              "unsupported version 2"));
  CHECK(fails(R"({"format": "windows-iot-dm/emulator-profile"})", "\"version\" must be"));
  CHECK(fails(head + R"("node": {}})", "unknown member \"node\""));
  CHECK(fails(head + R"("device": {"vendor": "x"}})",
              "device.vendor: unknown device fact (known: deviceId, manufacturer"));
  CHECK(fails(head + R"("device": {"model": 5}})", "device.model: must be a string"));
  CHECK(fails(head + R"("nodes": {"./Device/Vendor/MSFT/NoSuchCsp/X": "1"}})",
              "nodes[\"./Device/Vendor/MSFT/NoSuchCsp/X\"] (./Device/Vendor/MSFT/NoSuchCsp/X): "
              "not a node of the schema"));
  CHECK(fails(head + R"("nodes": {"./devinfo/Man": "x"}})", "not a node of the schema"));
  CHECK(fails(head + R"("nodes": {"./DevDetail/Ext/Microsoft/TotalRAM": "lots"}})",
              "the value does not fit the node's format (int)"));
  CHECK(fails(head + R"("nodes": {"./DevDetail/LrgObj": 1}})", "does not fit"));
  CHECK(fails(head + R"("nodes": {"./DevDetail/Ext": "x"}})", "an interior node takes null"));
  CHECK(fails(head + R"("nodes": {"./DevDetail/OEM": {}}})", "a leaf takes a string"));
  CHECK(fails(head + R"("nodes": {"./DevDetail/OEM": null}})", "a leaf takes a string"));
  CHECK(fails(head + R"("nodes": {"./DevDetail/OEM?list=Struct": "x"}})", "not a valid node URI"));
  CHECK(fails(head + R"("nodes": {"/DevDetail/OEM": "x"}})", "not a valid node URI"));
  CHECK(fails(head + R"("nodes": {".": null}})", "not a node of the schema"));
  CHECK(fails(head + R"("device": {"oem": "A"}, "nodes": {"./DevDetail/OEM": "B"}})",
              "the same node is already set by device.oem"));
  CHECK(fails(head + R"("nodes": {"./Vendor/MSFT/Reboot/Schedule/Single": "",
                                   "./Device/Vendor/MSFT/Reboot/Schedule/Single": ""}})",
              "the same node is already set by"));
  CHECK(fails(head + R"("nodes": {"./DevDetail/OEM": "a", "./DevDetail/OEM": "b"}})",
              "duplicate key"));
  // Accepted forms: booleans and integers as text, aliases, escapes.
  Profile ok;
  CHECK(Profile::Parse(head + R"("nodes": {"./DevDetail/LrgObj": false,
      "./Vendor/MSFT/WiFi/Profile/a%20b/WiFiCost": 3}})",
                       "p.json", schema, &ok, &error));
  CHECK(ok.entries().size() == 2 && ok.entries()[0].value == "false" &&
        ok.entries()[1].value == "3");
}

// ---- through the C ABI ----------------------------------------------------------------------

int32_t AbiApply(const std::vector<Op>& ops, std::vector<OpResult>* results = nullptr) {
  char16_t* wide = wdm::emulator::NewUtf16(wdm::syncml::EncodeOps(ops, false));
  char16_t* out = nullptr;
  const int32_t hr = ApplyLocalManagementSyncML(wide, &out);
  wdm::emulator::FreeResult(wide);
  if (hr == 0 && results != nullptr) {
    std::string response;
    std::string error;
    CHECK(wdm::emulator::Utf16ToUtf8(out, &response));
    CHECK(wdm::syncml::DecodeOpResults(response, ops, false, results, &error));
  }
  if (hr != 0) CHECK(out == nullptr);
  MdmEmulatorFree(out);
  return hr;
}

int AbiStatus(const Op& op) {
  std::vector<OpResult> r;
  const int32_t hr = AbiApply({op}, &r);
  return hr != 0 ? static_cast<int>(hr) : r.at(0).status;
}

void SetEnv(const char* name, const std::string& value) { setenv(name, value.c_str(), 1); }

void TestAbiProfileAndState() {
  const std::string dir = NewDir("abi");
  const std::string profile_path = dir + "/profile.json";
  WriteFile(profile_path, kTestProfile);
  SetEnv(wdm::emulator::kStateEnv, dir + "/state.json");
  SetEnv(wdm::emulator::kProfileEnv, profile_path);
  CHECK_EQ(MdmEmulatorReset(), 0);  // re-reads the environment, writes the profile's state
  CHECK_EQ(Generation(dir + "/state.json"), 1);
  CHECK_EQ(RegisterDeviceWithLocalManagement(nullptr), 0);
  CHECK_EQ(AbiStatus(Get(kWifi + "/Corp%20WiFi/WlanXml")), 200);
  CHECK_EQ(AbiStatus(MakeOp(Verb::kAdd, kStart, "int", "8")), 200);
  CHECK_EQ(Generation(dir + "/state.json"), 2);

  // A write failure through the ABI: failure HRESULT, no result, exec log rolled back.
  const int32_t execs = MdmEmulatorExecCount();
  wdm::emulator::SetStateWriteFaultForTest(2, ENOSPC);
  StderrCapture capture;
  CHECK_EQ(AbiApply({MakeOp(Verb::kExec, kRebootNow), MakeOp(Verb::kReplace, kStart, "int", "9")}),
           kWriteFault);
  CHECK(Contains(capture.Finish(), "cannot write the state file"));
  CHECK_EQ(MdmEmulatorExecCount(), execs);
  std::vector<OpResult> r;
  CHECK_EQ(AbiApply({Get(kStart)}, &r), 0);
  CHECK(r.size() == 1 && r[0].items.size() == 1 &&
        r[0].items[0].data == std::optional<std::string>("8"));

  // Reset: back to the profile's state, written.
  CHECK_EQ(MdmEmulatorReset(), 0);
  CHECK_EQ(Generation(dir + "/state.json"), 3);
  const Value doc = ReadState(dir + "/state.json");
  CHECK(doc.Find("nodes") != nullptr && doc.Find("nodes")->Find(kStart) == nullptr);
  CHECK(doc.Find("events") != nullptr && doc.Find("events")->size() == 0);
  CHECK_EQ(RegisterDeviceWithLocalManagement(nullptr), 0);
  CHECK_EQ(AbiStatus(Get(kStart)), 404);

  // A broken profile: the device does not start; stderr says why (once per setup).
  WriteFile(profile_path,
            std::string(kTestProfile)
                .replace(std::string(kTestProfile).find("\"QUJD\""), 6, "\"not base64!\""));
  StderrCapture capture2;
  CHECK_EQ(MdmEmulatorReset(), kBadConfiguration);
  CHECK_EQ(RegisterDeviceWithLocalManagement(nullptr), 0);
  CHECK_EQ(AbiApply({Get("./DevDetail/SwV")}), kBadConfiguration);
  CHECK_EQ(AbiApply({Get("./DevDetail/SwV")}), kBadConfiguration);
  const std::string err = capture2.Finish();
  CHECK(Contains(err, "windows-iot-dm emulator: device profile " + profile_path + ": nodes[\"" +
                          kRoot + "/AB12/EncodedCertificate\"]"));
  CHECK(Contains(err,
                 "does not fit the node's format (b64); the emulated device does not start "
                 "(HRESULT 0x8007064A)"));
  CHECK_EQ(std::count(err.begin(), err.end(), '\n'), 1);
  CHECK_EQ(Generation(dir + "/state.json"), 3);  // nothing written
  SetEnv(wdm::emulator::kProfileEnv, dir + "/missing.json");
  StderrCapture capture3;
  CHECK_EQ(MdmEmulatorReset(), kBadConfiguration);
  CHECK(Contains(capture3.Finish(), "device profile " + dir +
                                        "/missing.json (from $WINDOWS_IOT_DM_EMULATOR_PROFILE): "
                                        "cannot open it"));

  // :memory: keeps no file.
  const std::string memdir = NewDir("abi-memory");
  unsetenv(wdm::emulator::kProfileEnv);
  SetEnv(wdm::emulator::kStateEnv, ":memory:");
  CHECK_EQ(MdmEmulatorReset(), 0);
  CHECK_EQ(RegisterDeviceWithLocalManagement(nullptr), 0);
  CHECK_EQ(AbiStatus(MakeOp(Verb::kAdd, kStart, "int", "5")), 200);
  CHECK_EQ(AbiStatus(Get(kStart)), 200);
  CHECK(ListDir(memdir).empty());

  // The default location: $XDG_STATE_HOME (absolute only), else $HOME/.local/state.
  unsetenv(wdm::emulator::kStateEnv);
  std::string path;
  std::string error;
  SetEnv("XDG_STATE_HOME", dir + "/xdg");
  CHECK(wdm::emulator::StatePathFromEnv(&path, &error));
  CHECK_EQ(path, dir + "/xdg/windows-iot-dm/emulator-state.json");
  CHECK_EQ(MdmEmulatorReset(), 0);
  struct stat st;
  CHECK(stat((dir + "/xdg/windows-iot-dm").c_str(), &st) == 0 && (st.st_mode & 0777) == 0700);
  CHECK_EQ(Generation(path), 1);
  SetEnv("XDG_STATE_HOME", "relative/dir");
  const char* home = std::getenv("HOME");
  const std::string saved_home = home != nullptr ? home : "";
  SetEnv("HOME", dir + "/home");
  CHECK(wdm::emulator::StatePathFromEnv(&path, &error));
  CHECK_EQ(path, dir + "/home/.local/state/windows-iot-dm/emulator-state.json");
  unsetenv("XDG_STATE_HOME");
  unsetenv("HOME");
  CHECK(!wdm::emulator::StatePathFromEnv(&path, &error));
  CHECK(Contains(error, "set WINDOWS_IOT_DM_EMULATOR_STATE"));
  StderrCapture capture4;
  CHECK_EQ(MdmEmulatorReset(), kBadConfiguration);
  capture4.Finish();
  if (!saved_home.empty()) SetEnv("HOME", saved_home);
  SetEnv(wdm::emulator::kStateEnv, ":memory:");
  CHECK_EQ(MdmEmulatorReset(), 0);
}

// Forked processes share one state file: every write lands, the file is always valid JSON.
void TestConcurrentProcesses() {
  const std::string dir = NewDir("concurrent");
  const std::string path = dir + "/state.json";
  const std::string profile_path = dir + "/profile.json";
  WriteFile(profile_path, kEmptyProfile);
  SetEnv(wdm::emulator::kStateEnv, path);
  SetEnv(wdm::emulator::kProfileEnv, profile_path);
  CHECK_EQ(MdmEmulatorReset(), 0);  // the parent's device: children inherit it, lock fd included
  CHECK_EQ(RegisterDeviceWithLocalManagement(nullptr), 0);
  CHECK_EQ(AbiStatus(MakeOp(Verb::kAdd, kStart, "int", "0")), 200);
  const std::int64_t start = Generation(path);
  constexpr int kWriters = 3;
  constexpr int kApplies = 40;
  const std::string stop = dir + "/stop";

  const pid_t reader = fork();
  if (reader == 0) {
    // Reads the file (no lock) until told to stop: it must always be complete, valid JSON.
    int bad = 0;
    int reads = 0;
    struct stat st;
    while (stat(stop.c_str(), &st) != 0 || reads == 0) {
      const Value doc = ReadState(path);
      if (!doc.is_object() || doc.Find("generation") == nullptr) ++bad;
      ++reads;
    }
    _exit(bad == 0 && reads > 0 ? 0 : 1);
  }
  std::vector<pid_t> writers;
  for (int w = 0; w < kWriters; ++w) {
    const pid_t pid = fork();
    if (pid == 0) {
      int failures = 0;
      for (int i = 0; i < kApplies; ++i) {
        const std::string name = "W" + std::to_string(w) + "-" + std::to_string(i);
        std::vector<OpResult> r;
        const int32_t hr = AbiApply(
            {MakeOp(Verb::kAdd, kWifi + "/" + name + "/WlanXml", "chr", name), Get(kStart)}, &r);
        if (hr != 0 || r.size() != 2 || r[0].status != 200 || r[1].status != 200) ++failures;
      }
      _exit(failures == 0 ? 0 : 1);
    }
    writers.push_back(pid);
  }
  for (pid_t pid : writers) {
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  WriteFile(stop, "");
  int status = 0;
  CHECK(waitpid(reader, &status, 0) == reader && WIFEXITED(status) && WEXITSTATUS(status) == 0);

  // Every write is there, exactly once each; the parent sees them too (it reloads).
  CHECK_EQ(Generation(path), start + kWriters * kApplies);
  const Value doc = ReadState(path);
  int found = 0;
  for (int w = 0; w < kWriters; ++w) {
    for (int i = 0; i < kApplies; ++i) {
      const std::string name = "W" + std::to_string(w) + "-" + std::to_string(i);
      const Value* v =
          doc.Find("nodes") ? doc.Find("nodes")->Find(kWifi + "/" + name + "/WlanXml") : nullptr;
      if (v != nullptr && v->string_value() == name) ++found;
    }
  }
  CHECK_EQ(found, kWriters * kApplies);
  std::vector<OpResult> r;
  CHECK_EQ(AbiApply({Get(kWifi)}, &r), 0);
  CHECK(r.size() == 1 && r[0].items.size() == 1 &&
        std::count(r[0].items[0].data->begin(), r[0].items[0].data->end(), '/') ==
            kWriters * kApplies - 1);
  CHECK(!HasPrefixIn(ListDir(dir), "state.json.tmp-"));
  SetEnv(wdm::emulator::kStateEnv, ":memory:");
  unsetenv(wdm::emulator::kProfileEnv);
  CHECK_EQ(MdmEmulatorReset(), 0);
}

}  // namespace

int main() {
  RUN(TestRoundTrip);
  RUN(TestRandomRoundTrips);
  RUN(TestWritesOnlyOnChange);
  RUN(TestExternalChanges);
  RUN(TestCorruptFiles);
  RUN(TestWriteFailures);
  RUN(TestMemoryState);
  RUN(TestProfiles);
  RUN(TestAbiProfileAndState);
  RUN(TestConcurrentProcesses);
  const int result = wdm::test::Finish("state_test");
  if (result == 0) RemoveTree(TempRoot());  // kept for a look when something failed
  return result;
}
