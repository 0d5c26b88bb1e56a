// Tests of the CSP emulator through its exported C ABI (linked directly), plus its schema loader
// and value checks. Requests are built with EncodeOps and answers read with DecodeOpResults, so
// every call also round-trips the codec against real engine output.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "common/xml_reader.h"
#include "emulator/allowed_values.h"
#include "emulator/emulator_abi.h"
#include "emulator/health_attestation.h"
#include "emulator/node_tree.h"
#include "emulator/seed.h"
#include "emulator/sha1.h"
#include "emulator/utf16_text.h"
#include "emulator/value_check.h"
#include "syncml/codec.h"
#include "test/test_certificate.h"
#include "test/test_ops.h"
#include "test/test_util.h"

namespace {

using wdm::emulator::Format;
using wdm::emulator::IsValidValue;
using wdm::syncml::Op;
using wdm::syncml::OpResult;
using wdm::syncml::Verb;

constexpr int32_t kInvalidArg = static_cast<int32_t>(0x80070057u);

const std::string kDevName = "./DevDetail/Ext/Microsoft/DeviceName";
const std::string kSingle = "./Device/Vendor/MSFT/Reboot/Schedule/Single";
const std::string kDaily = "./Vendor/MSFT/Reboot/Schedule/DailyRecurrent";
// Schedule values must be ISO 8601 date-times with whole seconds (reboot_wipe.h).
const std::string kS = "2026-01-01T03:00:00";
const std::string kD = "04:30:00";
const std::string kRebootNow = "./Vendor/MSFT/Reboot/RebootNow";
const std::string kStart = "./Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart";
const std::string kRoot = "./Device/Vendor/MSFT/RootCATrustedCertificates/Root";

using wdm::test::MakeOp;
Op Get(std::string uri) { return MakeOp(Verb::kGet, std::move(uri)); }

// DeviceName reports the host's name until a Replace (device_info.h).
std::string HostName() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

// Sends UTF-8 text through the C ABI; returns the HRESULT and the UTF-8 answer.
int32_t ApplyRaw(const std::string& request, std::string* response) {
  char16_t* wide = wdm::emulator::NewUtf16(request);
  char16_t* result = reinterpret_cast<char16_t*>(1);  // must be reset to null or a string
  const int32_t hr = ApplyLocalManagementSyncML(wide, &result);
  wdm::emulator::FreeResult(wide);
  response->clear();
  if (hr == 0) {
    CHECK(result != nullptr);
    if (result != nullptr) CHECK(wdm::emulator::Utf16ToUtf8(result, response));
  } else {
    CHECK(result == nullptr);
  }
  MdmEmulatorFree(result);
  return hr;
}

std::string ApplyOk(const std::string& request) {
  std::string response;
  CHECK_EQ(ApplyRaw(request, &response), 0);
  return response;
}

// EncodeOps -> emulator -> DecodeOpResults (which must succeed).
std::vector<OpResult> Run(const std::vector<Op>& ops, bool atomic = false) {
  const std::string response = ApplyOk(wdm::syncml::EncodeOps(ops, atomic));
  std::vector<OpResult> results;
  std::string error;
  if (!CHECK(wdm::syncml::DecodeOpResults(response, ops, atomic, &results, &error))) {
    std::fprintf(stderr, "  decode error: %s\n  response: %s\n", error.c_str(), response.c_str());
    results.resize(ops.size());
  }
  return results;
}

int Status(const Op& op) { return Run({op})[0].status; }

// The single-item value of a Get, or "<status N>".
std::string Value(const std::string& uri) {
  const OpResult r = Run({Get(uri)})[0];
  if (r.status != 200) return "<status " + std::to_string(r.status) + ">";
  if (r.items.size() != 1) return "<" + std::to_string(r.items.size()) + " items>";
  return r.items[0].data.value_or("<no data>");
}

struct RawStatus {
  std::string cmd_ref;
  std::string cmd;
  std::string code;
  std::vector<std::string> target_refs;
};

// "CmdRef:Cmd:code" for every Status of a response (SyncHdr included), and Results counts.
std::vector<RawStatus> Statuses(const std::string& response, int* results_count = nullptr) {
  wdm::xml::Document doc;
  std::string error;
  std::vector<RawStatus> out;
  if (!CHECK(wdm::xml::Parse(response, &doc, &error))) return out;
  if (results_count != nullptr) *results_count = 0;
  for (std::size_t body_index : doc.root().children) {
    const auto& body = doc.at(body_index);
    if (body.name != "SyncBody") continue;
    for (std::size_t index : body.children) {
      const auto& el = doc.at(index);
      if (el.name == "Results" && results_count != nullptr) ++*results_count;
      if (el.name != "Status") continue;
      RawStatus s;
      for (std::size_t f : el.children) {
        const auto& field = doc.at(f);
        if (field.name == "CmdRef") s.cmd_ref = field.text;
        if (field.name == "Cmd") s.cmd = field.text;
        if (field.name == "Data") s.code = field.text;
        if (field.name == "TargetRef") s.target_refs.emplace_back(field.text);
      }
      out.push_back(s);
    }
  }
  return out;
}

std::string Summary(const std::vector<RawStatus>& statuses) {
  std::string out;
  for (const RawStatus& s : statuses) {
    if (!out.empty()) out += " ";
    out += s.cmd_ref + ":" + s.cmd + ":" + s.code;
  }
  return out;
}

std::string ExecLog() {
  char16_t* wide = nullptr;
  CHECK_EQ(MdmEmulatorExecLog(&wide), 0);
  std::string out;
  if (wide != nullptr) CHECK(wdm::emulator::Utf16ToUtf8(wide, &out));
  MdmEmulatorFree(wide);
  return out;
}

void Fresh() {
  CHECK_EQ(MdmEmulatorReset(), 0);
  int32_t already = 7;
  CHECK_EQ(RegisterDeviceWithLocalManagement(&already), 0);
  CHECK_EQ(already, 0);
}

// ---- tests
// ---------------------------------------------------------------------------------------

void TestRegistration() {
  CHECK_EQ(MdmEmulatorAbiVersion(), 4);
  CHECK_EQ(MdmEmulatorReset(), 0);
  std::string response;
  CHECK_EQ(ApplyRaw("<SyncBody/>", &response), MDM_EMULATOR_E_NOT_REGISTERED);
  CHECK_EQ(static_cast<uint32_t>(MDM_EMULATOR_E_NOT_REGISTERED), 0x80070490u);
  int32_t already = 7;
  CHECK_EQ(RegisterDeviceWithLocalManagement(&already), 0);
  CHECK_EQ(already, 0);
  CHECK_EQ(RegisterDeviceWithLocalManagement(&already), 1 - 1);
  CHECK_EQ(already, 1);
  CHECK_EQ(RegisterDeviceWithLocalManagement(nullptr), 0);
  CHECK_EQ(ApplyRaw("<SyncBody/>", &response), 0);
  char16_t* result = reinterpret_cast<char16_t*>(1);
  CHECK_EQ(ApplyLocalManagementSyncML(nullptr, &result), kInvalidArg);
  CHECK(result == nullptr);
  const char16_t body[] = u"<SyncBody/>";
  CHECK_EQ(ApplyLocalManagementSyncML(body, nullptr), kInvalidArg);
  CHECK_EQ(MdmEmulatorExecLog(nullptr), kInvalidArg);
  CHECK_EQ(UnregisterDeviceWithLocalManagement(), 0);
  CHECK_EQ(ApplyRaw("<SyncBody/>", &response), MDM_EMULATOR_E_NOT_REGISTERED);
  CHECK_EQ(UnregisterDeviceWithLocalManagement(), 0);
  MdmEmulatorFree(nullptr);
}

void TestGet() {
  Fresh();
  const std::vector<OpResult> r =
      Run({Get("./DevDetail/SwV"), Get("./DevDetail"), Get("."), Get("./Device/Vendor/MSFT"),
           Get(kRebootNow), Get("./DevInfo/DevId"), Get("DevInfo/Lang")});
  CHECK_EQ(r[0].status, 200);
  if (CHECK_EQ(r[0].items.size(), std::size_t{1})) {
    CHECK_EQ(r[0].items[0].uri, std::string("./DevDetail/SwV"));
    CHECK(r[0].items[0].format == std::optional<std::string>("chr"));
    CHECK(r[0].items[0].type == std::optional<std::string>("text/plain"));
    // The host's kernel release as Major.Minor.Build.QFE (device_info.h).
    const std::string swv = r[0].items[0].data.value_or("");
    CHECK(!swv.empty() && swv.find_first_not_of("0123456789.") == std::string::npos);
  }
  if (CHECK_EQ(r[1].items.size(), std::size_t{1})) {
    CHECK(r[1].items[0].format == std::optional<std::string>("node"));
    CHECK(r[1].items[0].data ==
          std::optional<std::string>("DevTyp/Ext/FwV/HwV/LrgObj/OEM/SwV/URI"));
  }
  CHECK(r[2].items.size() == 1 &&
        r[2].items[0].data == std::optional<std::string>("DevDetail/DevInfo/Device/SyncML/User"));
  if (CHECK_EQ(r[3].items.size(), std::size_t{1})) {
    const std::string csps = "/" + r[3].items[0].data.value_or("") + "/";
    for (const char* csp : {"/Policy/", "/Reboot/", "/RootCATrustedCertificates/", "/WiFi/",
                            "/DeviceStatus/", "/Update/", "/Defender/"}) {
      CHECK(csps.find(csp) != std::string::npos);
    }
  }
  if (CHECK_EQ(r[4].items.size(), std::size_t{1})) {
    CHECK_EQ(r[4].items[0].uri, kRebootNow);  // echoed as written (alias kept)
    CHECK(r[4].items[0].format == std::optional<std::string>("null"));
    CHECK(!r[4].items[0].data);
  }
  CHECK(r[5].status == 200 && r[5].items.size() == 1);
  CHECK_EQ(Value("DevInfo/Lang"), std::string("en-US"));
  const std::string ram = Value("./DevDetail/Ext/Microsoft/TotalRAM");  // the host's, in MB
  CHECK(!ram.empty() && ram.find_first_not_of("0123456789") == std::string::npos && ram != "0");
  CHECK_EQ(Run({Get("./DevDetail/Ext/Microsoft/TotalRAM")})[0].items[0].format.value_or(""),
           std::string("int"));
}

void TestNotFoundAndNotAllowed() {
  Fresh();
  CHECK_EQ(Status(Get("./DevDetail/Nope")), 404);
  CHECK_EQ(Status(Get("./Nope")), 404);
  CHECK_EQ(Status(Get("./devdetail/SwV")), 404);  // case-sensitive
  CHECK_EQ(Status(Get("./DevDetail/SwV/Deeper")), 404);
  CHECK_EQ(Status(Get("./User/Vendor/MSFT/Reboot")), 404);  // no user root in the Reboot DDF
  CHECK_EQ(Status(Get("./User/Vendor/MSFT/Policy")), 200);
  CHECK_EQ(Status(MakeOp(Verb::kReplace, "./DevDetail/SwV", "chr", "x")), 405);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, "./DevDetail/SwV", "chr", "x")), 405);
  CHECK_EQ(Status(MakeOp(Verb::kDelete, "./DevInfo")), 405);
  CHECK_EQ(Status(MakeOp(Verb::kExec, "./DevDetail/SwV")), 405);
  CHECK_EQ(Status(MakeOp(Verb::kExec, kSingle)), 405);
  // Known to the schema but never added.
  CHECK_EQ(Status(Get(kStart)), 404);
  CHECK_EQ(Status(MakeOp(Verb::kReplace, kStart, "int", "8")), 404);
  CHECK_EQ(Status(MakeOp(Verb::kDelete, kStart)), 404);
  CHECK_EQ(Status(Get(kSingle)), 404);
  // Malformed URIs.
  CHECK_EQ(Status(Get("")), 400);
  CHECK_EQ(Status(Get("/DevDetail/SwV")), 400);
  CHECK_EQ(Status(Get("./DevDetail//SwV")), 400);
  CHECK_EQ(Status(Get("./DevDetail/SwV/")), 400);
  CHECK_EQ(Status(Get("./DevDetail/../DevInfo")), 400);
  CHECK_EQ(Status(Get("./DevDetail/%zz")), 400);
  CHECK_EQ(Status(Get("./DevDetail/%4")), 400);
  CHECK_EQ(Status(Get("./DevDetail/%00")), 400);
  CHECK_EQ(Status(Get("./DevDetail/%FF")), 400);
  CHECK_EQ(Status(Get("./DevDetail/S%77V")), 200);  // %77 = 'w'
}

void TestReplaceAndFormats() {
  Fresh();
  CHECK_EQ(Status(MakeOp(Verb::kReplace, kDevName, "chr", "NEW <name> & \xC3\xBC")), 200);
  CHECK_EQ(Value(kDevName), std::string("NEW <name> & \xC3\xBC"));
  CHECK_EQ(Status(MakeOp(Verb::kReplace, kDevName, "int", "5")), 415);
  CHECK_EQ(Status(MakeOp(Verb::kReplace, kDevName, "", "no format")), 200);
  CHECK_EQ(Value(kDevName), std::string("no format"));
  // int policy
  CHECK_EQ(Status(MakeOp(Verb::kAdd, kStart, "int", "abc")), 415);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, kStart, "chr", "8")), 415);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, kStart, "int", "")), 415);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, kStart, "int", "4294967296")), 415);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, kStart, "int", "-2147483649")), 415);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, kStart, "int", " 8")), 415);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, kStart, "int")), 415);  // no Data
  // Failed Adds leave no trace (not even the implicit parents).
  CHECK_EQ(Status(Get("./Device/Vendor/MSFT/Policy/Config")), 404);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, kStart, "int", "8")), 200);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, kStart, "int", "9")), 418);
  const OpResult got = Run({Get(kStart)})[0];
  CHECK(got.status == 200 && got.items.size() == 1 &&
        got.items[0].format == std::optional<std::string>("int") &&
        got.items[0].data == std::optional<std::string>("8"));
  // The area nodes are Permanent in the DDF: they all come with Config.
  const std::string areas = "/" + Value("./Device/Vendor/MSFT/Policy/Config") + "/";
  CHECK(areas.find("/Update/") != std::string::npos &&
        areas.find("/TimeLanguageSettings/") != std::string::npos &&
        areas.find("/ADMX_AppCompat/") != std::string::npos);
  CHECK_EQ(Value("./Device/Vendor/MSFT/Policy/Config/Update"), std::string("ActiveHoursStart"));
  CHECK_EQ(Status(MakeOp(Verb::kReplace, kStart, "", "-5")), 400);  // Range [0-23]
  CHECK_EQ(Status(MakeOp(Verb::kReplace, kStart, "int", "x")), 415);
  CHECK_EQ(Status(MakeOp(Verb::kReplace, kStart, "", "23")), 200);
  CHECK_EQ(Value(kStart), std::string("23"));
  CHECK_EQ(Status(MakeOp(Verb::kReplace, "./Device/Vendor/MSFT/Policy/Config", "node")), 405);
  CHECK_EQ(Status(MakeOp(Verb::kDelete, "./Device/Vendor/MSFT/Policy/Config")), 200);
  CHECK_EQ(Status(Get(kStart)), 404);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, "./Device/Vendor/MSFT/Policy/Config", "node")), 200);
  CHECK_EQ(Value("./Device/Vendor/MSFT/Policy/Config"), areas.substr(1, areas.size() - 2));
  CHECK_EQ(Value("./Device/Vendor/MSFT/Policy/Config/Update"), std::string(""));
}

void TestAddDelete() {
  Fresh();
  CHECK_EQ(Status(MakeOp(Verb::kAdd, kSingle, "chr", "2024-01-01T02:00:00")), 200);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, kSingle, "chr", "again")), 418);
  CHECK_EQ(Value(kSingle), std::string("2024-01-01T02:00:00"));
  CHECK_EQ(Value("./Vendor/MSFT/Reboot/Schedule/Single"), std::string("2024-01-01T02:00:00"));
  CHECK_EQ(Status(MakeOp(Verb::kReplace, kSingle, "chr", "later")), 400);  // not ISO 8601
  CHECK_EQ(Status(MakeOp(Verb::kReplace, kSingle, "chr", "2024-06-01T02:00:00Z")), 200);
  CHECK_EQ(Value(kSingle), std::string("2024-06-01T02:00:00Z"));
  CHECK_EQ(Status(MakeOp(Verb::kDelete, kSingle)), 200);
  CHECK_EQ(Status(Get(kSingle)), 404);
  CHECK_EQ(Status(MakeOp(Verb::kReplace, kSingle, "chr", "x")), 404);
  CHECK_EQ(Status(MakeOp(Verb::kDelete, kSingle)), 404);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, kDaily, "chr", kD)), 200);
  CHECK_EQ(Value("./Device/Vendor/MSFT/Reboot/Schedule/DailyRecurrent"), kD);
  CHECK_EQ(Value("./Device/Vendor/MSFT/Reboot/Schedule"), std::string("DailyRecurrent"));
}

void TestDynamicNodes() {
  Fresh();
  // RootCATrustedCertificates/Root/<x>: an instance exists once its EncodedCertificate is added;
  // the store accepts only a DER certificate under its own SHA-1 (certificates.h).
  const std::string der1 = wdm::test::BuildCertificate(wdm::test::CertSpec());
  wdm::test::CertSpec spec2;
  spec2.subject_cn = "Second";
  const std::string der2 = wdm::test::BuildCertificate(spec2);
  const std::string t1 = wdm::emulator::Sha1Hex(der1);
  const std::string t2 = wdm::emulator::Sha1Hex(der2);
  std::string b64 = wdm::emulator::Base64Encode(der1);
  b64.insert(8, "\r\n");  // line breaks are allowed in b64 data
  const std::string abc = kRoot + "/" + t1;
  CHECK_EQ(Value(kRoot), std::string(""));
  CHECK_EQ(Status(MakeOp(Verb::kAdd, abc, "node")), 405);  // <x> itself has no Add
  CHECK_EQ(Status(MakeOp(Verb::kAdd, abc + "/EncodedCertificate", "b64", "not base64!")), 415);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, abc + "/EncodedCertificate", "b64", "QUJ")), 415);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, abc + "/EncodedCertificate", "b64", "QUJD")), 400);
  CHECK_EQ(Value(kRoot), std::string(""));
  CHECK_EQ(Status(MakeOp(Verb::kAdd, abc + "/EncodedCertificate", "b64", b64)), 200);
  CHECK_EQ(Value(kRoot), t1);
  CHECK_EQ(Value(abc), std::string("EncodedCertificate/IssuedBy/IssuedTo/TemplateName/ValidFrom/"
                                   "ValidTo"));
  CHECK_EQ(Value(abc + "/IssuedBy"), std::string("Contoso Issuing CA"));
  CHECK_EQ(Value(abc + "/EncodedCertificate"), b64);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, abc + "/EncodedCertificate", "b64", "QUJD")), 418);
  CHECK_EQ(Status(MakeOp(Verb::kReplace, abc + "/EncodedCertificate", "b64", "R0hJ")), 400);
  CHECK_EQ(Status(MakeOp(Verb::kReplace, abc + "/EncodedCertificate", "b64",
                         wdm::emulator::Base64Encode(der1))),
           200);
  CHECK_EQ(Status(MakeOp(Verb::kReplace, abc + "/IssuedBy", "chr", "me")), 405);
  CHECK_EQ(Status(MakeOp(Verb::kDelete, abc + "/EncodedCertificate")), 405);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, kRoot + "/" + t2 + "/EncodedCertificate", "b64", "")), 400);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, kRoot + "/" + t2 + "/EncodedCertificate", "b64",
                         wdm::emulator::Base64Encode(der2))),
           200);
  CHECK_EQ(Value(kRoot), t1 < t2 ? t1 + "/" + t2 : t2 + "/" + t1);  // byte order
  CHECK_EQ(Status(MakeOp(Verb::kDelete, abc)), 200);
  CHECK_EQ(Value(kRoot), t2);
  CHECK_EQ(Status(Get(abc)), 404);
  CHECK_EQ(Status(Get(abc + "/IssuedBy")), 404);
  // Percent-encoded names: decoded per segment, listed encoded.
  const std::string tokens = "./Device/Vendor/MSFT/ApplicationControl/Tokens";
  CHECK_EQ(Status(MakeOp(Verb::kAdd, tokens + "/a%2Fb%20c%7B%E2%82%AC/Token", "b64", "QUJD")), 200);
  CHECK_EQ(Value(tokens), std::string("a%2Fb%20c%7B%E2%82%AC"));
  CHECK_EQ(Value(tokens + "/a%2fb%20c{\xE2\x82\xAC/Token"), std::string("QUJD"));
  CHECK_EQ(Status(Get(tokens + "/a/b c/Token")), 404);
}

void TestStructData() {
  Fresh();
  CHECK_EQ(Status(MakeOp(Verb::kAdd, kSingle, "chr", kS)), 200);
  const OpResult r = Run({Get("./Vendor/MSFT/Reboot?list=StructData")})[0];
  CHECK_EQ(r.status, 200);
  const char* want[][3] = {{"./Vendor/MSFT/Reboot", "node", nullptr},
                           {"./Vendor/MSFT/Reboot/RebootNow", "null", nullptr},
                           {"./Vendor/MSFT/Reboot/Schedule", "node", nullptr},
                           {"./Vendor/MSFT/Reboot/Schedule/Single", "chr", kS.c_str()}};
  if (CHECK_EQ(r.items.size(), std::size_t{4})) {
    for (std::size_t i = 0; i < 4; ++i) {
      CHECK_EQ(r.items[i].uri, std::string(want[i][0]));
      CHECK(r.items[i].format == std::optional<std::string>(want[i][1]));
      CHECK(r.items[i].data ==
            (want[i][2] ? std::optional<std::string>(want[i][2]) : std::nullopt));
    }
  }
  const OpResult s = Run({Get("./Device/Vendor/MSFT/Reboot/Schedule?list=Struct")})[0];
  if (CHECK_EQ(s.items.size(), std::size_t{2})) {
    CHECK_EQ(s.items[1].uri, std::string("./Device/Vendor/MSFT/Reboot/Schedule/Single"));
    CHECK(!s.items[0].data && !s.items[1].data);
  }
  const OpResult leaf = Run({Get(kSingle + "?list=StructData")})[0];
  CHECK(leaf.items.size() == 1 && leaf.items[0].data == std::optional<std::string>(kS));
  CHECK_EQ(Status(Get("./Vendor/MSFT/Reboot?list=Bogus")), 406);
  CHECK_EQ(Status(Get("./Vendor/MSFT/Reboot?")), 406);
  CHECK_EQ(Status(MakeOp(Verb::kReplace, kSingle + "?list=Struct", "chr", "x")), 400);
  CHECK_EQ(Status(Get("./Vendor/MSFT/Nope?list=Struct")), 404);
}

void TestExec() {
  Fresh();
  CHECK_EQ(MdmEmulatorExecCount(), 0);
  CHECK_EQ(ExecLog(), std::string("[]"));
  CHECK_EQ(Status(MakeOp(Verb::kExec, kRebootNow)), 200);
  CHECK_EQ(Status(MakeOp(Verb::kExec, "./Device/Vendor/MSFT/Reboot/RebootNow", "chr", "a\"b\\c\n")),
           200);
  CHECK_EQ(MdmEmulatorExecCount(), 2);
  CHECK_EQ(ExecLog(), std::string("[{\"uri\":\"./Device/Vendor/MSFT/Reboot/RebootNow\",\"data\":"
                                  "null},{\"uri\":\"./Device/Vendor/MSFT/Reboot/RebootNow\","
                                  "\"data\":\"a\\\"b\\\\c\\u000a\"}]"));
}

void TestRawCommands() {
  Fresh();
  std::string response = ApplyOk(
      "<SyncBody><Get><Item><Target><LocURI>./DevDetail/SwV</LocURI></Target></Item></Get>"
      "<Foo><CmdID>3</CmdID></Foo><Get><CmdID>4</CmdID></Get>"
      "<Get><CmdID>5</CmdID><Item><Target><LocURI>./DevDetail/SwV</LocURI></Target></Item>"
      "<Item><Target><LocURI>./DevDetail/Nope</LocURI></Target></Item>"
      "<Item><Source><LocURI>./DevDetail/HwV</LocURI></Source></Item></Get>"
      "<Final/></SyncBody>");
  int results = 0;
  std::vector<RawStatus> st = Statuses(response, &results);
  CHECK_EQ(Summary(st), std::string("0:SyncHdr:200 :Get:400 3:Foo:400 4:Get:400 5:Get:200 "
                                    "5:Get:404 5:Get:400"));
  CHECK_EQ(results, 1);
  if (st.size() == 7) {
    CHECK(st[4].target_refs == std::vector<std::string>{"./DevDetail/SwV"});
    CHECK(st[5].target_refs == std::vector<std::string>{"./DevDetail/Nope"});
    CHECK(st[6].target_refs.empty());
  }
  CHECK(response.find("<CmdRef></CmdRef><Cmd>Get</Cmd>") != std::string::npos);
  // Full SyncML message form, Meta at command level.
  response = ApplyOk(
      "<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr><VerDTD>1.2</VerDTD></SyncHdr><SyncBody>"
      "<Replace><CmdID>1</CmdID><Meta><Format xmlns='syncml:metinf'>int</Format></Meta><Item>"
      "<Target><LocURI>" +
      kDevName + "</LocURI></Target><Data>x</Data></Item></Replace><Final/></SyncBody></SyncML>");
  CHECK_EQ(Summary(Statuses(response)), std::string("0:SyncHdr:200 1:Replace:415"));
  // CDATA data reaches the node verbatim.
  response = ApplyOk("<SyncBody><Replace><CmdID>1</CmdID><Item><Target><LocURI>" + kDevName +
                     "</LocURI></Target><Data><![CDATA[<b>&amp;</b>]]></Data></Item></Replace>"
                     "</SyncBody>");
  CHECK_EQ(Summary(Statuses(response)), std::string("0:SyncHdr:200 1:Replace:200"));
  CHECK_EQ(Value(kDevName), std::string("<b>&amp;</b>"));
}

void ExpectRejected(const std::string& request) {
  std::string response;
  CHECK_EQ(ApplyRaw(request, &response), 0);
  CHECK_EQ(Summary(Statuses(response)), std::string("0:SyncHdr:400"));
  std::vector<OpResult> results;
  std::string error;
  CHECK(!wdm::syncml::DecodeOpResults(response, 1, false, &results, &error));
  CHECK(error.find("SyncHdr status 400") != std::string::npos);
}

void TestMalformedRequests() {
  Fresh();
  ExpectRejected("");
  ExpectRejected("<SyncBody><Get>");
  ExpectRejected("<SyncBody></SyncBody><x/>");
  ExpectRejected("<SyncML/>");
  ExpectRejected("<Get/>");
  ExpectRejected("<!DOCTYPE x><SyncBody/>");
  ExpectRejected("<SyncBody><Get><CmdID>1</CmdID><CmdID>2</CmdID></Get></SyncBody>");
  // An unpaired surrogate in the UTF-16 request.
  const char16_t lone[] = {u'<', u'S', u'y', u'n', u'c', u'B', u'o', u'd', u'y', u'>', 0xD800, u'<',
                           u'/', u'S', u'y', u'n', u'c', u'B', u'o', u'd', u'y', u'>', 0};
  char16_t* result = nullptr;
  CHECK_EQ(ApplyLocalManagementSyncML(lone, &result), 0);
  std::string response;
  CHECK(result != nullptr && wdm::emulator::Utf16ToUtf8(result, &response));
  MdmEmulatorFree(result);
  CHECK_EQ(Summary(Statuses(response)), std::string("0:SyncHdr:400"));
  // The device state is untouched by rejected messages.
  CHECK_EQ(Value(kDevName), HostName());
}

void TestAtomic() {
  Fresh();
  // A failing command rolls back the ones before it.
  std::vector<Op> ops{MakeOp(Verb::kAdd, kSingle, "chr", kS), MakeOp(Verb::kExec, kRebootNow),
                      MakeOp(Verb::kReplace, "./DevDetail/SwV", "chr", "x"),
                      MakeOp(Verb::kAdd, kDaily, "chr", kD)};
  std::string response = ApplyOk(wdm::syncml::EncodeOps(ops, true));
  CHECK_EQ(Summary(Statuses(response)),
           std::string("0:SyncHdr:200 5:Atomic:507 1:Add:216 2:Exec:216 3:Replace:405 4:Add:216"));
  std::vector<OpResult> r = Run(ops, true);
  CHECK(r[0].status == 216 && r[1].status == 216 && r[2].status == 405 && r[3].status == 216);
  CHECK_EQ(Status(Get(kSingle)), 404);
  CHECK_EQ(Status(Get(kDaily)), 404);
  CHECK_EQ(MdmEmulatorExecCount(), 0);

  // Get inside an Atomic is not allowed.
  ops = {MakeOp(Verb::kAdd, kSingle, "chr", kS), Get("./DevDetail/SwV")};
  response = ApplyOk(wdm::syncml::EncodeOps(ops, true));
  CHECK_EQ(Summary(Statuses(response)),
           std::string("0:SyncHdr:200 3:Atomic:507 1:Add:216 2:Get:500"));
  CHECK_EQ(Status(Get(kSingle)), 404);

  // All succeed: committed.
  ops = {MakeOp(Verb::kAdd, kSingle, "chr", kS), MakeOp(Verb::kAdd, kDaily, "chr", kD),
         MakeOp(Verb::kExec, kRebootNow), MakeOp(Verb::kAdd, kStart, "int", "7")};
  r = Run(ops, true);
  CHECK(r[0].status == 200 && r[1].status == 200 && r[2].status == 200 && r[3].status == 200);
  CHECK_EQ(Value(kSingle), kS);
  CHECK_EQ(Value(kStart), std::string("7"));
  CHECK_EQ(MdmEmulatorExecCount(), 1);

  // A failure with 415 keeps that code; the atomic restores Replace'd values.
  ops = {MakeOp(Verb::kReplace, kSingle, "chr", "2026-02-02T02:02:02"),
         MakeOp(Verb::kDelete, kDaily), MakeOp(Verb::kReplace, kStart, "int", "seven")};
  r = Run(ops, true);
  CHECK(r[0].status == 216 && r[1].status == 216 && r[2].status == 415);
  CHECK_EQ(Value(kSingle), kS);
  CHECK_EQ(Value(kDaily), kD);
  CHECK_EQ(Value(kStart), std::string("7"));
}

void TestNestedAtomicAndSequence() {
  Fresh();
  auto add = [](const std::string& id, const std::string& uri, const std::string& data) {
    return "<Add><CmdID>" + id + "</CmdID><Item><Target><LocURI>" + uri +
           "</LocURI></Target><Data>" + data + "</Data></Item></Add>";
  };
  std::string response = ApplyOk("<SyncBody><Atomic><CmdID>1</CmdID>" + add("2", kSingle, kS) +
                                 "<Atomic><CmdID>3</CmdID>" + add("4", kDaily, kD) + "</Atomic>" +
                                 add("5", kStart, "1") + "</Atomic></SyncBody>");
  CHECK_EQ(Summary(Statuses(response)),
           std::string("0:SyncHdr:200 1:Atomic:507 2:Add:216 3:Atomic:500 4:Add:216 5:Add:216"));
  CHECK_EQ(Status(Get(kSingle)), 404);

  int results = 0;
  response = ApplyOk(
      "<SyncBody><Sequence><CmdID>1</CmdID>" + add("2", kSingle, kS) +
      "<Replace><CmdID>3</CmdID><Item><Target><LocURI>./DevDetail/SwV</LocURI></Target><Data>x"
      "</Data></Item></Replace><Get><CmdID>4</CmdID><Item><Target><LocURI>" +
      kSingle + "</LocURI></Target></Item></Get></Sequence></SyncBody>");
  CHECK_EQ(Summary(Statuses(response, &results)),
           std::string("0:SyncHdr:200 1:Sequence:200 2:Add:200 3:Replace:405 4:Get:200"));
  CHECK_EQ(results, 1);
  CHECK_EQ(Value(kSingle), kS);

  // A Sequence inside a failing Atomic.
  response = ApplyOk("<SyncBody><Atomic><CmdID>1</CmdID>" + add("2", kDaily, kD) +
                     "<Sequence><CmdID>3</CmdID>" + add("4", kStart, "1") +
                     add("5", kSingle, "again") + add("6", kStart, "2") + "</Sequence>" +
                     add("7", "./Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursEnd", "3") +
                     "</Atomic></SyncBody>");
  CHECK_EQ(Summary(Statuses(response)),
           std::string("0:SyncHdr:200 1:Atomic:507 2:Add:216 3:Sequence:216 4:Add:216 5:Add:418 "
                       "6:Add:216 7:Add:216"));
  CHECK_EQ(Status(Get(kDaily)), 404);
  CHECK_EQ(Status(Get(kStart)), 404);

  // Containers without CmdID: 400, nothing inside runs.
  response = ApplyOk("<SyncBody><Atomic>" + add("2", kDaily, kD) + "</Atomic><Sequence>" +
                     add("4", kDaily, kD) + "</Sequence></SyncBody>");
  CHECK_EQ(Summary(Statuses(response)),
           std::string("0:SyncHdr:200 :Atomic:400 2:Add:215 :Sequence:400 4:Add:215"));
  CHECK_EQ(Status(Get(kDaily)), 404);
  // Unknown command and missing CmdID inside an Atomic fail it.
  response = ApplyOk("<SyncBody><Atomic><CmdID>1</CmdID>" + add("2", kDaily, kD) +
                     "<Copy><CmdID>3</CmdID></Copy></Atomic><Atomic><CmdID>4</CmdID>"
                     "<Add><Item><Target><LocURI>" +
                     kStart + "</LocURI></Target><Data>1</Data></Item></Add></Atomic></SyncBody>");
  CHECK_EQ(Summary(Statuses(response)),
           std::string("0:SyncHdr:200 1:Atomic:507 2:Add:216 3:Copy:400 4:Atomic:507 :Add:400"));
  // An empty Atomic succeeds.
  response = ApplyOk("<SyncBody><Atomic><CmdID>1</CmdID></Atomic></SyncBody>");
  CHECK_EQ(Summary(Statuses(response)), std::string("0:SyncHdr:200 1:Atomic:200"));
}

void TestReset() {
  Fresh();
  CHECK_EQ(Status(MakeOp(Verb::kReplace, kDevName, "chr", "changed")), 200);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, kSingle, "chr", kS)), 200);
  CHECK_EQ(Status(MakeOp(Verb::kExec, kRebootNow)), 200);
  CHECK_EQ(MdmEmulatorReset(), 0);
  std::string response;
  CHECK_EQ(ApplyRaw("<SyncBody/>", &response), MDM_EMULATOR_E_NOT_REGISTERED);
  CHECK_EQ(MdmEmulatorExecCount(), 0);
  int32_t already = 1;
  CHECK_EQ(RegisterDeviceWithLocalManagement(&already), 0);
  CHECK_EQ(already, 0);
  CHECK_EQ(Value(kDevName), HostName());  // back to the host's name
  CHECK_EQ(Status(Get(kSingle)), 404);
  // Unregister keeps the tree.
  CHECK_EQ(Status(MakeOp(Verb::kReplace, kDevName, "chr", "kept")), 200);
  CHECK_EQ(UnregisterDeviceWithLocalManagement(), 0);
  CHECK_EQ(RegisterDeviceWithLocalManagement(nullptr), 0);
  CHECK_EQ(Value(kDevName), std::string("kept"));
}

void TestUtf16() {
  Fresh();
  const std::string name = "\xF0\x9F\x98\x80 \xE2\x82\xAC \xC3\xA9 \xEF\xBF\xBD";
  CHECK_EQ(Status(MakeOp(Verb::kReplace, kDevName, "chr", name)), 200);
  CHECK_EQ(Value(kDevName), name);
  std::string out;
  const char16_t pair[] = {0xD83D, 0xDE00, 0};
  CHECK(wdm::emulator::Utf16ToUtf8(pair, &out) && out == "\xF0\x9F\x98\x80");
  const char16_t low_first[] = {0xDE00, 0xD83D, 0};
  CHECK(!wdm::emulator::Utf16ToUtf8(low_first, &out));
  const char16_t high_last[] = {u'a', 0xD83D, 0};
  CHECK(!wdm::emulator::Utf16ToUtf8(high_last, &out));
  char16_t* wide = wdm::emulator::NewUtf16(
      "a\xFF"
      "b");
  CHECK(wide != nullptr && wide[0] == u'a' && wide[1] == 0xFFFD && wide[2] == u'b' && wide[3] == 0);
  wdm::emulator::FreeResult(wide);
}

void TestThreads() {
  Fresh();
  std::vector<std::thread> threads;
  std::vector<int> failures(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([t, &failures] {
      for (int i = 0; i < 100; ++i) {
        const std::string body = wdm::syncml::EncodeOps(
            {MakeOp(Verb::kReplace, kDevName, "chr", "T" + std::to_string(t)),
             MakeOp(Verb::kGet, kDevName)},
            false);
        char16_t* wide = wdm::emulator::NewUtf16(body);
        char16_t* result = nullptr;
        if (ApplyLocalManagementSyncML(wide, &result) != 0 || result == nullptr) ++failures[t];
        std::string response;
        if (result != nullptr && !wdm::emulator::Utf16ToUtf8(result, &response)) ++failures[t];
        MdmEmulatorFree(result);
        wdm::emulator::FreeResult(wide);
        std::vector<OpResult> r;
        std::string error;
        if (!wdm::syncml::DecodeOpResults(response, 2, false, &r, &error) || r[0].status != 200 ||
            r[1].items.size() != 1 ||
            r[1].items[0].data != std::optional<std::string>("T" + std::to_string(t))) {
          ++failures[t];  // Replace+Get in one message is atomic with respect to other threads
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int f : failures) CHECK_EQ(f, 0);
}

void TestValueCheck() {
  CHECK(IsValidValue(Format::kInt, "0") && IsValidValue(Format::kInt, "-2147483648") &&
        IsValidValue(Format::kInt, "4294967295") && IsValidValue(Format::kInt, "007"));
  CHECK(!IsValidValue(Format::kInt, "-") && !IsValidValue(Format::kInt, "+1") &&
        !IsValidValue(Format::kInt, "1.5") && !IsValidValue(Format::kInt, "0x10") &&
        !IsValidValue(Format::kInt, "99999999999999999999999"));
  CHECK(IsValidValue(Format::kBool, "true") && IsValidValue(Format::kBool, "false"));
  CHECK(!IsValidValue(Format::kBool, "True") && !IsValidValue(Format::kBool, "1") &&
        !IsValidValue(Format::kBool, ""));
  CHECK(IsValidValue(Format::kB64, "") && IsValidValue(Format::kB64, "QQ==") &&
        IsValidValue(Format::kB64, "QUI=") && IsValidValue(Format::kB64, "Q U\tI =\n"));
  CHECK(!IsValidValue(Format::kB64, "Q===") && !IsValidValue(Format::kB64, "====") &&
        !IsValidValue(Format::kB64, "QQ=A") && !IsValidValue(Format::kB64, "QQ-_") &&
        !IsValidValue(Format::kB64, "Q"));
  CHECK(IsValidValue(Format::kXml, "") && IsValidValue(Format::kXml, "<a/><b x='1'>t</b>") &&
        IsValidValue(Format::kXml, "<?xml version='1.0'?><root/>") &&
        IsValidValue(Format::kXml, "text &amp; more"));
  CHECK(!IsValidValue(Format::kXml, "<a>") && !IsValidValue(Format::kXml, "</v><v>") &&
        !IsValidValue(Format::kXml, "a & b") && !IsValidValue(Format::kXml, "<!DOCTYPE a><a/>"));
  CHECK(IsValidValue(Format::kNull, "") && !IsValidValue(Format::kNull, "x"));
  CHECK(!IsValidValue(Format::kNode, ""));
  CHECK(IsValidValue(Format::kChr, "anything <&>"));
}

void TestAllowedValues() {
  using wdm::emulator::AllowedValues;
  using Kind = AllowedValues::Kind;
  const AllowedValues hours = AllowedValues::Parse("Range:[0-23]", nullptr, "int");
  CHECK(hours.kind() == Kind::kRange);
  CHECK(hours.Accepts("0") && hours.Accepts("23") && hours.Accepts("007"));
  CHECK(!hours.Accepts("24") && !hours.Accepts("-1") && !hours.Accepts("x"));
  const AllowedValues wide = AllowedValues::Parse("Range:[(-1)-4294967295]", nullptr, "int");
  CHECK(wide.Accepts("-1") && wide.Accepts("4294967295") && !wide.Accepts("-2"));
  const AllowedValues two = AllowedValues::Parse("Range:[1-5]\037[10-20]", nullptr, "int");
  CHECK(two.Accepts("5") && two.Accepts("15") && !two.Accepts("7"));
  CHECK(AllowedValues::Parse("Range:[(-1)-2147483647]", nullptr, "chr").kind() == Kind::kAny);
  CHECK(AllowedValues::Parse("Range:[a-b]", nullptr, "int").kind() == Kind::kAny);
  CHECK(AllowedValues::Parse("Range:[5-1]", nullptr, "int").note() == "Range text [5-1]");

  const AllowedValues int_enum = AllowedValues::Parse("ENUM:0\0371\0372", nullptr, "int");
  CHECK(int_enum.kind() == Kind::kIntEnum);
  CHECK(int_enum.Accepts("1") && int_enum.Accepts("02") && !int_enum.Accepts("3"));
  const AllowedValues text_enum = AllowedValues::Parse("ENUM:Days\037Months", nullptr, "chr");
  CHECK(text_enum.kind() == Kind::kTextEnum);
  CHECK(text_enum.Accepts("Days") && !text_enum.Accepts("days") && !text_enum.Accepts(""));
  const AllowedValues list_enum = AllowedValues::Parse("ENUM:Lan\037Wireless\037All", ",", "chr");
  CHECK(list_enum.Accepts("Lan") && list_enum.Accepts("Lan,Wireless"));
  CHECK(!list_enum.Accepts("Lan,Foo") && !list_enum.Accepts("Lan,") && !list_enum.Accepts(""));
  const AllowedValues private_use =
      AllowedValues::Parse("ENUM:a\037b", "0xF000", "chr");  // U+F000 written as text
  CHECK(private_use.Accepts("a\xEF\x80\x80"
                            "b") &&
        !private_use.Accepts("a,b"));
  CHECK(AllowedValues::Parse("ENUM:0\0371", nullptr, "bool").kind() == Kind::kAny);

  const AllowedValues name30 = AllowedValues::Parse("RegEx:^.{1,30}$", nullptr, "chr");
  CHECK(name30.kind() == Kind::kRegex);
  CHECK(name30.Accepts(std::string(30, 'x')) && !name30.Accepts(std::string(31, 'x')) &&
        !name30.Accepts(""));
  CHECK(name30.Accepts(std::string(AllowedValues::kMaxCheckedValue + 1, 'x')));  // not checked
  const AllowedValues ports = AllowedValues::Parse("RegEx:^[0-9-]+$", ",", "chr");
  CHECK(ports.Accepts("80,443-450") && !ports.Accepts("80,x"));
  const AllowedValues literal = AllowedValues::Parse("RegEx:/^a+$/", nullptr, "chr");
  CHECK(literal.kind() == Kind::kRegex && literal.Accepts("aa") && !literal.Accepts("/aa/"));
  const AllowedValues brace = AllowedValues::Parse("RegEx:{[0-9]{2}\\}", nullptr, "chr");
  CHECK(brace.Accepts("{12}") && !brace.Accepts("12"));
  const AllowedValues search = AllowedValues::Parse("RegEx:[0-9]{3}", nullptr, "chr");
  CHECK(search.Accepts("ab123cd") && !search.Accepts("12"));  // regex_search semantics
  CHECK(AllowedValues::Parse("RegEx:^(?i)a$", nullptr, "chr").kind() == Kind::kAny);
  CHECK(AllowedValues::Parse("RegEx:^(a+)+$", nullptr, "chr").kind() == Kind::kAny);
  CHECK(AllowedValues::Parse("RegEx:^[^/]*$", nullptr, "node").kind() == Kind::kAny);
  CHECK(AllowedValues::Parse("RegEx:", nullptr, "chr").kind() == Kind::kAny);
  for (const char* type : {"None:", "ADMX:", "XSD:", "JSON:", "SDDL:", "Flag:1\0372"}) {
    const AllowedValues any = AllowedValues::Parse(type, nullptr, "chr");
    CHECK(any.kind() == Kind::kAny && any.Accepts("anything") && !any.note().empty());
  }
  CHECK(AllowedValues::Parse(nullptr, nullptr, "int").Accepts("-7"));

  std::string out;
  std::string why;
  for (const char* bad : {"(a)\\1", "[z-a]", "a**", "(?=a)", "(?<n>a)", "\\x41", "[]", "(a", "a)",
                          "*a", "^*", "a{2000}", "[\\b]", "/a/i", "\\"}) {
    if (!CHECK(!wdm::emulator::NormalizeDdfRegex(bad, &out, &why))) {
      std::fprintf(stderr, "  accepted: %s -> %s\n", bad, out.c_str());
    }
  }
  CHECK(!wdm::emulator::NormalizeDdfRegex(std::string(AllowedValues::kMaxPattern + 1, 'a'), &out,
                                          &why));
  CHECK(wdm::emulator::NormalizeDdfRegex("[-a-z0-9,-]{1,4}", &out, &why) &&
        out == "[\\-a-z0-9,\\-]{1,4}");
  CHECK(wdm::emulator::NormalizeDdfRegex("a{x}b}", &out, &why) && out == "a\\{x\\}b\\}");

  // Through the C ABI: format errors (415) come before allowed values (400); a refused value
  // leaves no trace.
  Fresh();
  CHECK_EQ(Status(MakeOp(Verb::kAdd, kStart, "int", "24")), 400);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, kStart, "int", "-1")), 400);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, kStart, "chr", "99")), 415);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, kStart, "int", "abc")), 415);
  CHECK_EQ(Status(Get("./Device/Vendor/MSFT/Policy/Config")), 404);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, kStart, "int", "23")), 200);
  CHECK_EQ(Status(MakeOp(Verb::kReplace, kStart, "int", "99")), 400);
  CHECK_EQ(Value(kStart), std::string("23"));
  const std::string no_reboot =
      "./Device/Vendor/MSFT/Policy/Config/Update/ConfigureDeadlineNoAutoReboot";
  CHECK_EQ(Status(MakeOp(Verb::kAdd, no_reboot, "int", "2")), 400);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, no_reboot, "int", "1")), 200);
  const std::string company = "./Vendor/MSFT/Personalization/CompanyName";
  CHECK_EQ(Status(MakeOp(Verb::kAdd, company, "chr", std::string(31, 'c'))), 400);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, company, "chr", "Contoso")), 200);
  const std::string when_full = "./Vendor/MSFT/DiagnosticLog/Policy/Channels/App/ActionWhenFull";
  CHECK_EQ(Status(MakeOp(Verb::kAdd, when_full, "chr", "truncate")), 400);
  CHECK_EQ(Status(Get("./Vendor/MSFT/DiagnosticLog/Policy/Channels/App")), 404);
  CHECK_EQ(Status(MakeOp(Verb::kAdd, when_full, "chr", "Truncate")), 200);
  // Atomic: a 400 fails the block like any other code.
  const std::vector<OpResult> r =
      Run({MakeOp(Verb::kReplace, kStart, "int", "5"), MakeOp(Verb::kReplace, kStart, "int", "50")},
          true);
  CHECK(r.size() == 2 && r[0].status == 216 && r[1].status == 400);
  CHECK_EQ(Value(kStart), std::string("23"));
}

bool BuildFails(const std::vector<wdm::emulator::NodeFact>& facts,
                const std::vector<wdm::emulator::NodeValue>& values, const std::string& fragment) {
  std::unique_ptr<wdm::emulator::Schema> schema;
  std::string error;
  const bool ok = wdm::emulator::Schema::Build(facts.data(), facts.size(), values.data(),
                                               values.size(), &schema, &error);
  if (ok || error.find(fragment) == std::string::npos) {
    std::fprintf(stderr, "  build: ok=%d error=%s (wanted '%s')\n", ok, error.c_str(),
                 fragment.c_str());
    return false;
  }
  return schema == nullptr;
}

void TestSchemaLoader() {
  using wdm::emulator::NodeFact;
  std::unique_ptr<wdm::emulator::Schema> seed;
  std::string error;
  CHECK(wdm::emulator::BuildSeedSchema(&seed, &error));
  CHECK(error.empty());

  const NodeFact leaf{"./A/B", "chr",   "Get",   "One",   "Permanent",
                      nullptr, nullptr, nullptr, nullptr, nullptr};
  const NodeFact node{"./A",   "node",  "Get",   "One",   "Permanent",
                      nullptr, nullptr, nullptr, nullptr, nullptr};
  CHECK(BuildFails({leaf, leaf}, {}, "row 1 (./A/B): duplicate row"));
  CHECK(BuildFails(
      {{"./A", "str", "Get", "One", "Permanent", nullptr, nullptr, nullptr, nullptr, nullptr}}, {},
      "unknown format"));
  CHECK(BuildFails(
      {{"./A", "chr", "Get,", "One", "Permanent", nullptr, nullptr, nullptr, nullptr, nullptr}}, {},
      "unknown access"));
  CHECK(BuildFails(
      {{"./A", "chr", "get", "One", "Permanent", nullptr, nullptr, nullptr, nullptr, nullptr}}, {},
      "unknown access"));
  CHECK(BuildFails(
      {{"./A", "chr", "Get", "Many", "Permanent", nullptr, nullptr, nullptr, nullptr, nullptr}}, {},
      "unknown occurrence"));
  CHECK(BuildFails(
      {{"./A", "chr", "Get", "One", "Forever", nullptr, nullptr, nullptr, nullptr, nullptr}}, {},
      "unknown scope"));
  CHECK(BuildFails(
      {{"A/B", "chr", "Get", "One", "Permanent", nullptr, nullptr, nullptr, nullptr, nullptr}}, {},
      "path must look like"));
  CHECK(BuildFails(
      {{"./A//B", "chr", "Get", "One", "Permanent", nullptr, nullptr, nullptr, nullptr, nullptr}},
      {}, "path must look like"));
  CHECK(BuildFails(
      {{".", "node", "Get", "One", "Permanent", nullptr, nullptr, nullptr, nullptr, nullptr}}, {},
      "path must look like"));
  CHECK(BuildFails(
      {{"./A", "chr", "Get", "One", "Permanent", nullptr, nullptr, nullptr, "cs", nullptr}}, {},
      "unknown case sense"));
  // A row below a leaf, in either order (the DDF has one: Defender/Health/DeviceControl).
  const NodeFact chr_a{"./A", "chr",   "Get",   "One", "Permanent",
                       "v",   nullptr, nullptr, "CIS", nullptr};
  for (const std::vector<NodeFact>& rows :
       {std::vector<NodeFact>{chr_a, leaf}, std::vector<NodeFact>{leaf, chr_a}}) {
    std::unique_ptr<wdm::emulator::Schema> built;
    if (!CHECK(
            wdm::emulator::Schema::Build(rows.data(), rows.size(), nullptr, 0, &built, &error))) {
      continue;
    }
    const auto* a = built->Resolve({"A"});
    CHECK(a != nullptr && a->format == Format::kChr && a->children.size() == 1 &&
          a->case_sense == "CIS");
    wdm::emulator::NodeTree tree(*built);
    CHECK(tree.Find({"A"}) != nullptr && tree.Find({"A"})->value == "v");
    CHECK(tree.Find({"A", "B"}) != nullptr);
  }
  CHECK(BuildFails({node, leaf}, {{"./A/C", "x"}}, "value for an unknown node"));
  CHECK(BuildFails({node, leaf}, {{"./A", "x"}}, "value for an interior node"));
  CHECK(BuildFails(
      {node,
       {"./A/B", "int", "Get", "One", "Permanent", nullptr, nullptr, nullptr, nullptr, nullptr}},
      {{"./A/B", "x"}}, "does not fit"));

  // Rows in any order; dynamic and named siblings; synthesized ancestors.
  const std::vector<NodeFact> facts{
      {"./V/M/C/<x>/Leaf", "int", "Add,Get", "One", "Dynamic", "5", nullptr, nullptr, nullptr,
       nullptr},
      {"./V/M/C/<x>", "node", "Delete,Get", "ZeroOrMore", "Dynamic", nullptr, nullptr, nullptr,
       nullptr, nullptr},
      {"./V/M/C/Fixed", "chr", "Get", "One", "Permanent", "dflt", nullptr, "text/x", nullptr,
       nullptr},
  };
  std::unique_ptr<wdm::emulator::Schema> schema;
  CHECK(wdm::emulator::Schema::Build(facts.data(), facts.size(), nullptr, 0, &schema, &error));
  if (!schema) return;
  const auto* fixed = schema->Resolve({"V", "M", "C", "Fixed"});
  const auto* dyn_leaf = schema->Resolve({"V", "M", "C", "anything", "Leaf"});
  const auto* synthesized = schema->Resolve({"V", "M"});
  CHECK(fixed != nullptr && fixed->mime == "text/x" && fixed->StartValue() == "dflt");
  CHECK(dyn_leaf != nullptr && dyn_leaf->format == Format::kInt &&
        dyn_leaf->default_value == std::optional<std::string>("5"));
  CHECK(synthesized != nullptr && synthesized->is_interior() && synthesized->synthesized &&
        synthesized->access == wdm::emulator::kAccessGet);
  CHECK(schema->Resolve({"V", "M", "C", "x", "Nope"}) == nullptr);
  wdm::emulator::NodeTree tree(*schema);
  CHECK(tree.Find({"V", "M", "C", "Fixed"}) != nullptr);
  CHECK(tree.Find({"V", "M", "C", "Fixed"})->value == "dflt");
  CHECK(tree.ChildNames({"V", "M", "C"}) == std::vector<std::string>{"Fixed"});
}

// Mutated requests: the emulator always answers S_OK with a well-formed document whose first
// status is the SyncHdr's, and never crashes (ASan/UBSan watch this).
void TestFuzzRequests() {
  Fresh();
  const std::string seed = wdm::syncml::EncodeOps(
      {MakeOp(Verb::kAdd, kSingle, "chr", kS), MakeOp(Verb::kReplace, kStart, "int", "5"),
       MakeOp(Verb::kAdd, kRoot + "/X/EncodedCertificate", "b64", "QUJD"),
       MakeOp(Verb::kExec, kRebootNow), MakeOp(Verb::kDelete, kRoot + "/X"),
       Get("./Vendor/MSFT?list=StructData")},
      false);
  std::uint32_t state = 4242;
  auto next = [&state]() {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
  };
  const std::string pieces[] = {"<Atomic>",         "</Atomic>", "<Sequence>",    "</Sequence>",
                                "<CmdID>9</CmdID>", "<Get>",     "</Get>",        "<Item>",
                                "</Item>",          "%2F",       "?list=Struct",  "/",
                                "<Final/>",         "&amp;",     "<Data>x</Data>"};
  for (int round = 0; round < 3000; ++round) {
    std::string text = seed;
    const int edits = 1 + next() % 4;
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = next() % (text.size() + 1);
      if (next() % 3 == 0) {
        if (pos < text.size()) text.erase(pos, 1 + next() % 10);
      } else {
        text.insert(pos, pieces[next() % (sizeof(pieces) / sizeof(pieces[0]))]);
      }
    }
    std::string response;
    if (ApplyRaw(text, &response) != 0) {
      CHECK(false);
      continue;
    }
    const std::vector<RawStatus> statuses = Statuses(response);
    if (!CHECK(!statuses.empty() && statuses[0].cmd_ref == "0")) break;
  }
}

}  // namespace

int main() {
  RUN(TestRegistration);
  RUN(TestGet);
  RUN(TestNotFoundAndNotAllowed);
  RUN(TestReplaceAndFormats);
  RUN(TestAddDelete);
  RUN(TestDynamicNodes);
  RUN(TestStructData);
  RUN(TestExec);
  RUN(TestRawCommands);
  RUN(TestMalformedRequests);
  RUN(TestAtomic);
  RUN(TestNestedAtomicAndSequence);
  RUN(TestReset);
  RUN(TestUtf16);
  RUN(TestThreads);
  RUN(TestValueCheck);
  RUN(TestAllowedValues);
  RUN(TestSchemaLoader);
  RUN(TestFuzzRequests);
  return wdm::test::Finish("emulator_test");
}
