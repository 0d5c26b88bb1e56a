// Tests of the emulated app management (apps.h): the package file name convention, file URIs,
// the HostedInstall and MsiInstallJob parsers, and the CSP flows driven through an engine:
// HostedInstall -> inventory -> update -> downgrade refused -> Delete; failed installs in
// AppInstallation/<PFN>/Status; MSI DownloadInstall with a good and a wrong SHA-256, Delete.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "emulator/apps.h"
#include "emulator/behaviors.h"
#include "emulator/device_host.h"
#include "emulator/engine.h"
#include "emulator/seed.h"
#include "emulator/sha256.h"
#include "syncml/codec.h"
#include "test/test_ops.h"
#include "test/test_util.h"

namespace {

using wdm::emulator::Engine;
using wdm::emulator::FixedHost;
using wdm::emulator::PackageIdentity;
using wdm::emulator::Schema;
using wdm::syncml::Op;
using wdm::syncml::OpResult;
using wdm::syncml::Verb;

const std::string kEmm = "./Device/Vendor/MSFT/EnterpriseModernAppManagement";
const std::string kMsi = "./Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI";
const std::string kFamily = "Contoso.Toaster_8wekyb3d8bbwe";

using wdm::test::MakeOp;

const Schema& TheSchema() {
  static std::unique_ptr<Schema> schema;
  if (!schema) {
    std::string error;
    if (!CHECK(wdm::emulator::BuildSeedSchema(&schema, &error))) std::abort();
  }
  return *schema;
}

struct Device {
  std::unique_ptr<Engine> engine;
  Device() {
    auto fixed = std::make_unique<FixedHost>();
    fixed->now = 1767236400;  // 2026-01-01T03:00:00Z
    engine = std::make_unique<Engine>(TheSchema(), std::move(fixed));
  }
  std::vector<OpResult> Run(const std::vector<Op>& ops) {
    const std::string response = engine->HandleRequest(wdm::syncml::EncodeOps(ops, false));
    std::vector<OpResult> results;
    std::string error;
    if (!CHECK(wdm::syncml::DecodeOpResults(response, ops, false, &results, &error)))
      results.resize(ops.size());
    return results;
  }
  int Status(const Op& op) { return Run({op})[0].status; }
  std::string Value(const std::string& uri) {
    const OpResult r = Run({MakeOp(Verb::kGet, uri)})[0];
    if (r.status != 200) return "<status " + std::to_string(r.status) + ">";
    if (r.items.size() != 1) return "<items>";
    return r.items[0].data.value_or("<no data>");
  }
};

std::string TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string dir = std::string(base ? base : "/tmp") + "/wdm-apps-test.XXXXXX";
  std::vector<char> buf(dir.begin(), dir.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) std::abort();
  return std::string(buf.data());
}

std::string WriteFile(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string HostedXml(const std::string& package, const std::string& dep = "") {
  std::string xml = "<Application PackageUri=\"file://" + package + "\">";
  if (!dep.empty()) xml += "<Dependencies><Dependency PackageUri=\"" + dep + "\"/></Dependencies>";
  return xml + "</Application>";
}

std::string MsiXml(const std::string& file, const std::string& hash) {
  return "<MsiInstallJob id=\"{A}\"><Product Version=\"2.1.0\"><Download><ContentURLList>"
         "<ContentURL>file://" +
         file + "</ContentURL></ContentURLList></Download><Validation><FileHash>" + hash +
         "</FileHash></Validation><Enforcement><CommandLine>/quiet</CommandLine><TimeOut>5"
         "</TimeOut><RetryCount>3</RetryCount><RetryInterval>5</RetryInterval></Enforcement>"
         "</Product></MsiInstallJob>";
}

void TestPackageNames() {
  PackageIdentity id;
  CHECK(wdm::emulator::ParsePackageFileName("/x/Contoso.Toaster_1.2.3.0_x64__8wekyb3d8bbwe.appx",
                                            &id));
  CHECK_EQ(id.FamilyName(), kFamily);
  CHECK_EQ(id.FullName(), "Contoso.Toaster_1.2.3.0_x64__8wekyb3d8bbwe");
  CHECK(wdm::emulator::ParsePackageFileName("A.Bundle_1.0.0.0_neutral_~_8wekyb3d8bbwe.MSIXBUNDLE",
                                            &id));
  CHECK(id.bundle);
  for (const char* bad :
       {"Contoso.Toaster_1.2.3_x64__8wekyb3d8bbwe.appx",
        "Contoso.Toaster_1.2.3.0_mips__8wekyb3d8bbwe.appx",
        "Contoso.Toaster_1.2.3.0_x64__short.appx", "Contoso.Toaster_1.2.3.0_x64__8wekyb3d8bbwe.zip",
        "Co_1.2.3.0_x64__8wekyb3d8bbwe.appx", "Contoso.Toaster_1.2.3.70000_x64__8wekyb3d8bbwe.appx",
        "Contoso_Toaster_1.2.3.0_x64__8wekyb3d8bbwe.appx"}) {
    CHECK(!wdm::emulator::ParsePackageFileName(bad, &id));
  }
  CHECK_EQ(wdm::emulator::CompareVersions("1.2.3.0", "1.10.0.0"), -1);
  CHECK_EQ(wdm::emulator::CompareVersions("2.0.0.0", "2.0.0.0"), 0);
}

void TestFileUris() {
  std::string path;
  CHECK(wdm::emulator::FileUriToPath("file:///tmp/a%20b.appx", &path));
  CHECK_EQ(path, "/tmp/a b.appx");
  CHECK(wdm::emulator::FileUriToPath("file:///C:/Temp/x.msi", &path));
  CHECK_EQ(path, "C:/Temp/x.msi");
  CHECK(wdm::emulator::FileUriToPath("/abs/x.appx", &path));
  CHECK(!wdm::emulator::FileUriToPath("https://host/x.appx", &path));
  CHECK(!wdm::emulator::FileUriToPath("relative/x.appx", &path));
  CHECK(!wdm::emulator::FileUriToPath("file:///bad%2", &path));
}

void TestParsers() {
  wdm::emulator::HostedInstallJob job;
  std::string error;
  CHECK(wdm::emulator::ParseHostedInstall(
      "<Application PackageUri=\"file:///a.appx\" DeploymentOptions=\"0\"><Dependencies>"
      "<Dependency PackageUri=\"file:///b.appx\"/><Dependency PackageUri=\"/c.appx\"/>"
      "</Dependencies></Application>",
      &job, &error));
  CHECK_EQ(job.package_uri, "file:///a.appx");
  CHECK_EQ(job.dependency_uris.size(), 2u);
  for (const char* bad :
       {"<Application/>", "<App PackageUri=\"x\"/>", "<Application PackageUri=\"x\" Evil=\"1\"/>",
        "<Application PackageUri=\"x\"><Other/></Application>", "<Application PackageUri=\"x\">",
        "<Application PackageUri=\"x\"><Dependencies><Dependency/></Dependencies></Application>"}) {
    error.clear();
    CHECK(!wdm::emulator::ParseHostedInstall(bad, &job, &error));
    CHECK(!error.empty());
  }
  wdm::emulator::MsiInstallJob msi;
  const std::string hash(64, 'a');
  CHECK(wdm::emulator::ParseMsiInstallJob(MsiXml("/x.msi", hash), &msi, &error));
  CHECK_EQ(msi.version, "2.1.0");
  CHECK_EQ(msi.content_url, "file:///x.msi");
  CHECK_EQ(msi.command_line, "/quiet");
  CHECK_EQ(msi.retry_count, 3);
  CHECK(!wdm::emulator::ParseMsiInstallJob(MsiXml("/x.msi", "abc"), &msi, &error));
  CHECK(!wdm::emulator::ParseMsiInstallJob("<MsiInstallJob><Product/></MsiInstallJob>", &msi,
                                           &error));
}

void TestHostedInstallFlow() {
  Device d;
  const std::string dir = TempDir();
  const std::string v1 = WriteFile(dir, "Contoso.Toaster_1.0.0.0_x64__8wekyb3d8bbwe.appx", "v1");
  const std::string v2 = WriteFile(dir, "Contoso.Toaster_1.1.0.0_x64__8wekyb3d8bbwe.appx", "v2");
  const std::string dep = WriteFile(dir, "Contoso.Runtime_3.0.0.0_x64__8wekyb3d8bbwe.appx", "d");
  const std::string wrong = WriteFile(dir, "Other.App_1.0.0.0_x64__8wekyb3d8bbwe.appx", "o");
  const std::string install = kEmm + "/AppInstallation/" + kFamily + "/HostedInstall";
  const std::string status = kEmm + "/AppInstallation/" + kFamily + "/Status";
  const std::string inventory = kEmm + "/AppManagement/nonStore/" + kFamily;

  // Malformed data: 400, nothing recorded.
  CHECK_EQ(d.Status(MakeOp(Verb::kExec, install, "xml", "<Application/>")), 400);
  // A missing file: accepted, then FAILED with ERROR_FILE_NOT_FOUND.
  CHECK_EQ(d.Status(MakeOp(Verb::kExec, install, "xml", HostedXml(dir + "/missing.appx"))), 200);
  CHECK_EQ(d.Value(status), "2");
  CHECK_EQ(d.Value(kEmm + "/AppInstallation/" + kFamily + "/LastError"),
           std::to_string(static_cast<std::int32_t>(0x80070002u)));
  // Another family's package under this node: FAILED, E_INVALIDARG.
  CHECK_EQ(d.Status(MakeOp(Verb::kExec, install, "xml", HostedXml(wrong))), 200);
  CHECK_EQ(d.Value(kEmm + "/AppInstallation/" + kFamily + "/LastError"),
           std::to_string(static_cast<std::int32_t>(0x80070057u)));
  CHECK_EQ(d.Value(inventory), "<status 404>");
  // Success: the installation entry is cleaned up, the package and its dependency are listed.
  CHECK_EQ(d.Status(MakeOp(Verb::kExec, install, "xml", HostedXml(v1, "file://" + dep))), 200);
  CHECK_EQ(d.Value(status), "<status 404>");
  const std::string full1 = "Contoso.Toaster_1.0.0.0_x64__8wekyb3d8bbwe";
  CHECK_EQ(d.Value(inventory), full1);
  CHECK_EQ(d.Value(inventory + "/" + full1 + "/Version"), "1.0.0.0");
  CHECK_EQ(d.Value(inventory + "/" + full1 + "/InstallDate"), "2026-01-01T03:00:00Z");
  CHECK_EQ(d.Value(kEmm + "/AppManagement/nonStore/Contoso.Runtime_8wekyb3d8bbwe/"
                          "Contoso.Runtime_3.0.0.0_x64__8wekyb3d8bbwe/IsFramework"),
           "1");
  const OpResult listing = d.Run({MakeOp(Verb::kGet, kEmm + "/AppManagement?list=StructData")})[0];
  CHECK_EQ(listing.status, 200);
  bool saw_name = false;
  for (const auto& item : listing.items) {
    if (item.uri == kEmm + "/AppManagement/nonStore/" + kFamily + "/" + full1 + "/Name")
      saw_name = item.data.value_or("") == "Contoso.Toaster";
  }
  CHECK(saw_name);
  // Update, then a downgrade refused.
  CHECK_EQ(d.Status(MakeOp(Verb::kExec, install, "xml", HostedXml(v2))), 200);
  CHECK_EQ(d.Value(inventory), "Contoso.Toaster_1.1.0.0_x64__8wekyb3d8bbwe");
  CHECK_EQ(d.Status(MakeOp(Verb::kExec, install, "xml", HostedXml(v1))), 200);
  CHECK_EQ(d.Value(status), "2");
  CHECK_EQ(d.Value(inventory), "Contoso.Toaster_1.1.0.0_x64__8wekyb3d8bbwe");
  // Delete of the failed installation entry, then of the family.
  CHECK_EQ(d.Status(MakeOp(Verb::kDelete, kEmm + "/AppInstallation/" + kFamily)), 200);
  CHECK_EQ(d.Value(status), "<status 404>");
  CHECK_EQ(d.Status(MakeOp(Verb::kDelete, inventory)), 200);
  CHECK_EQ(d.Value(inventory), "<status 404>");
  CHECK_EQ(d.Status(MakeOp(Verb::kDelete, inventory)), 404);
  std::remove(v1.c_str());
  std::remove(v2.c_str());
  std::remove(dep.c_str());
  std::remove(wrong.c_str());
  std::remove(dir.c_str());
}

void TestMsiFlow() {
  Device d;
  const std::string dir = TempDir();
  const std::string file = WriteFile(dir, "Toaster Tools.msi", "MSI content");
  const std::string uri_file = dir + "/Toaster%20Tools.msi";
  const std::string id = "{11111111-2222-3333-4444-555555555555}";
  const std::string product = kMsi + "/" + id;
  // DownloadInstall before MSI/<id> was added: 404.
  CHECK_EQ(d.Status(MakeOp(Verb::kExec, product + "/DownloadInstall", "xml",
                           MsiXml(uri_file, wdm::emulator::Sha256Hex("MSI content")))),
           404);
  CHECK_EQ(d.Status(MakeOp(Verb::kAdd, product, "node")), 200);
  // A wrong hash: download failed, TRUST_E_BAD_DIGEST.
  CHECK_EQ(d.Status(MakeOp(Verb::kExec, product + "/DownloadInstall", "xml",
                           MsiXml(uri_file, std::string(64, '0')))),
           200);
  CHECK_EQ(d.Value(product + "/Status"), "30");
  CHECK_EQ(d.Value(product + "/LastError"), std::to_string(static_cast<std::int32_t>(0x80091007u)));
  CHECK_EQ(d.Value(product + "/Name"), "<status 404>");
  // The right hash (any case): completed.
  std::string upper = wdm::emulator::Sha256Hex("MSI content");
  for (char& c : upper)
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  CHECK_EQ(
      d.Status(MakeOp(Verb::kExec, product + "/DownloadInstall", "xml", MsiXml(uri_file, upper))),
      200);
  CHECK_EQ(d.Value(product + "/Status"), "70");
  CHECK_EQ(d.Value(product + "/Version"), "2.1.0");
  CHECK_EQ(d.Value(product + "/Name"), "Toaster Tools");
  CHECK_EQ(d.Value(product + "/LastError"), "0");
  CHECK_EQ(d.Status(MakeOp(Verb::kExec, product + "/DownloadInstall", "xml", "<MsiInstallJob/>")),
           400);
  CHECK_EQ(d.Status(MakeOp(Verb::kDelete, product)), 200);
  CHECK_EQ(d.Value(product + "/Status"), "<status 404>");
  std::remove(file.c_str());
  std::remove(dir.c_str());
}

void TestLifecycle() {
  wdm::json::Value events = wdm::json::Value::Object();
  std::string reason;
  CHECK_EQ(wdm::emulator::ManageAppLifecycle(kFamily, "start", 0, &events, &reason),
           static_cast<std::int32_t>(0x80070490u));
  CHECK(!reason.empty());
  wdm::json::Value pkg = wdm::json::Value::Object();
  pkg.Set("family", wdm::json::Value::String(kFamily));
  pkg.Set("version", wdm::json::Value::String("1.0.0.0"));
  wdm::json::Value packages = wdm::json::Value::Object();
  packages.Set("Contoso.Toaster_1.0.0.0_x64__8wekyb3d8bbwe", std::move(pkg));
  wdm::json::Value apps = wdm::json::Value::Object();
  apps.Set("packages", std::move(packages));
  events.Set("apps", std::move(apps));
  CHECK_EQ(wdm::emulator::ManageAppLifecycle(kFamily, "kill", 0, &events, &reason),
           static_cast<std::int32_t>(0x80070057u));
  CHECK_EQ(wdm::emulator::ManageAppLifecycle(kFamily, "start", 1767236400, &events, &reason), 0);
  const wdm::json::Value* running = events.Find("apps")->Find("running");
  CHECK(running != nullptr && running->Find(kFamily)->bool_value());
  CHECK_EQ(wdm::emulator::ManageAppLifecycle(kFamily, "stop", 1767236401, &events, &reason), 0);
  CHECK(!events.Find("apps")->Find("running")->Find(kFamily)->bool_value());
  const wdm::json::Value* log = events.Find("apps")->Find("lifecycle");
  CHECK_EQ(log->size(), 2u);
  CHECK_EQ(log->items()[0].Find("time")->string_value(), "2026-01-01T03:00:00Z");
}

}  // namespace

int main() {
  RUN(TestPackageNames);
  RUN(TestFileUris);
  RUN(TestParsers);
  RUN(TestHostedInstallFlow);
  RUN(TestMsiFlow);
  RUN(TestLifecycle);
  return wdm::test::Finish("apps_test");
}
