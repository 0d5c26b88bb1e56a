// Hosted app install / inventory / removal and MSI install, emulated (see apps.h).
#include "emulator/apps.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <iterator>

#include "common/xml_reader.h"
#include "emulator/behaviors.h"
#include "emulator/iso8601.h"
#include "emulator/sha256.h"

namespace wdm::emulator {
namespace {

constexpr std::int64_t kFileNotFound = static_cast<std::int32_t>(0x80070002u);
constexpr std::int64_t kOpenPackageFailed = static_cast<std::int32_t>(0x80073CF0u);
constexpr std::int64_t kInvalidArg = static_cast<std::int32_t>(0x80070057u);
constexpr std::int64_t kDowngrade = static_cast<std::int32_t>(0x80073D06u);
constexpr std::int64_t kBadDigest = static_cast<std::int32_t>(0x80091007u);

constexpr int kInstallFailed = 2;
constexpr int kMsiDownloadFailed = 30;
constexpr int kMsiCompleted = 70;

bool EndsWithNoCase(std::string_view text, std::string_view suffix) {
  if (text.size() < suffix.size()) return false;
  for (std::size_t i = 0; i < suffix.size(); ++i) {
    char c = text[text.size() - suffix.size() + i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != suffix[i]) return false;
  }
  return true;
}

bool AllOf(std::string_view text, std::string_view extra, bool upper = true) {
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    (upper && c >= 'A' && c <= 'Z') || extra.find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// Four dot-separated numbers 0-65535 ("1.2.3.0").
bool ParseVersion(std::string_view text, long parts[4]) {
  for (int i = 0; i < 4; ++i) {
    const std::size_t dot = text.find('.');
    const std::string_view part = i < 3 ? text.substr(0, dot) : text;
    if (i < 3 && dot == std::string_view::npos) return false;
    if (part.empty() || part.size() > 5 || !AllOf(part, "", false)) return false;
    for (char c : part)
      if (c < '0' || c > '9') return false;
    parts[i] = std::strtol(std::string(part).c_str(), nullptr, 10);
    if (parts[i] > 65535) return false;
    if (i < 3) text.remove_prefix(dot + 1);
  }
  return true;
}

std::string BaseName(std::string_view path) {
  const std::size_t slash = path.find_last_of("/\\");
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::vector<std::string> Split(std::string_view text, char sep) {
  std::vector<std::string> out;
  while (true) {
    const std::size_t at = text.find(sep);
    out.emplace_back(text.substr(0, at));
    if (at == std::string_view::npos) return out;
    text.remove_prefix(at + 1);
  }
}

bool ReadFile(const std::string& path, std::string* content) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  content->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

bool Readable(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return static_cast<bool>(in) && in.peek() != std::ifstream::traits_type::eof();
}

// Element helpers over the flat DOM.
const xml::Element* Child(const xml::Document& doc, const xml::Element& parent,
                          std::string_view name) {
  for (std::size_t i : parent.children) {
    if (doc.at(i).name == name) return &doc.at(i);
  }
  return nullptr;
}

bool OnlyChildren(const xml::Document& doc, const xml::Element& parent,
                  std::initializer_list<std::string_view> names, std::string* error) {
  for (std::size_t i : parent.children) {
    bool known = false;
    for (std::string_view n : names) known = known || doc.at(i).name == n;
    if (!known) {
      *error = "unexpected element <" + std::string(doc.at(i).name) + "> in <" +
               std::string(parent.name) + ">";
      return false;
    }
  }
  return true;
}

bool Attribute(const xml::Element& e, std::string_view name, std::string* value) {
  for (const xml::Attribute& a : e.attributes) {
    if (a.name == name) {
      *value = std::string(a.value);
      return true;
    }
  }
  return false;
}

bool OnlyAttributes(const xml::Element& e, std::initializer_list<std::string_view> names,
                    std::string* error) {
  for (const xml::Attribute& a : e.attributes) {
    bool known = false;
    for (std::string_view n : names) known = known || a.name == n;
    if (!known && a.qname.substr(0, 5) != "xmlns") {
      *error = "unexpected attribute " + std::string(a.qname) + " on <" + std::string(e.name) + ">";
      return false;
    }
  }
  return true;
}

std::string Trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\n' || text.front() == '\t' ||
                           text.front() == '\r'))
    text.remove_prefix(1);
  while (!text.empty() &&
         (text.back() == ' ' || text.back() == '\n' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return std::string(text);
}

bool IntText(const xml::Element* e, long* out) {
  if (e == nullptr) return true;
  const std::string text = Trimmed(e->text);
  if (text.empty() || text.size() > 9 || !AllOf(text, "", false)) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  *out = std::strtol(text.c_str(), nullptr, 10);
  return true;
}

// ---- state helpers -------------------------------------------------------------------------

json::Value& AppsMember(BehaviorState& state, const char* key) {
  if (!state.apps.is_object()) state.apps = json::Value::Object();
  json::Value& member = state.apps.mutable_member(key);
  if (!member.is_object()) member = json::Value::Object();
  return member;
}

const json::Value* AppsFind(const BehaviorState& state, const char* key, std::string_view name) {
  const json::Value* member = state.apps.Find(key);
  return member == nullptr ? nullptr : member->Find(name);
}

std::string Str(const json::Value* object, const char* key) {
  const json::Value* v = object == nullptr ? nullptr : object->Find(key);
  return v == nullptr || !v->is_string() ? std::string() : v->string_value();
}

std::int64_t Int(const json::Value* object, const char* key) {
  const json::Value* v = object == nullptr ? nullptr : object->Find(key);
  return v == nullptr ? 0 : v->int_value();
}

// ---- EnterpriseModernAppManagement ---------------------------------------------------------

// Path indexes below ./Device/Vendor/MSFT/EnterpriseModernAppManagement.
constexpr std::size_t kArea = 4;  // "AppInstallation" | "AppManagement"
constexpr std::size_t kOrigin = 5;
constexpr std::size_t kFamily = 6;
constexpr std::size_t kFullName = 7;

void FailInstall(HookContext& ctx, const std::string& family, std::int64_t error,
                 std::string desc) {
  json::Value record = json::Value::Object();
  record.Set("status", json::Value::Int(kInstallFailed));
  record.Set("lastError", json::Value::Int(error));
  record.Set("lastErrorDesc", json::Value::String(std::move(desc)));
  AppsMember(ctx.state, "installations").Set(family, std::move(record));
}

// Resolves and checks one package file; false with the HRESULT and reason.
bool CheckPackage(const std::string& uri, PackageIdentity* id, std::int64_t* error,
                  std::string* desc) {
  std::string path;
  if (!FileUriToPath(uri, &path)) {
    *error = kInvalidArg;
    *desc = "PackageUri is not a file URI or an absolute path: " + uri;
    return false;
  }
  if (!Readable(path)) {
    *error = kFileNotFound;
    *desc = "the package file does not exist or cannot be read: " + path;
    return false;
  }
  if (!ParsePackageFileName(path, id)) {
    *error = kOpenPackageFailed;
    *desc =
        "cannot open the package: its file name is not <Name>_<Version>_<Arch>_<ResourceId>_"
        "<PublisherId>.appx|.msix|.appxbundle|.msixbundle: " +
        BaseName(path);
    return false;
  }
  return true;
}

// The installed version of `family` ("" when none).
std::string InstalledVersion(const BehaviorState& state, const std::string& family) {
  const json::Value* packages = state.apps.Find("packages");
  if (packages == nullptr) return std::string();
  for (const auto& [full, pkg] : packages->members()) {
    if (Str(&pkg, "family") == family) return Str(&pkg, "version");
  }
  return std::string();
}

void RecordPackage(HookContext& ctx, const PackageIdentity& id, bool framework) {
  json::Value& packages = AppsMember(ctx.state, "packages");
  const std::string family = id.FamilyName();
  std::vector<std::string> replaced;
  for (const auto& [full, pkg] : packages.members()) {
    if (Str(&pkg, "family") == family) replaced.push_back(full);
  }
  for (const std::string& full : replaced) packages.Erase(full);
  json::Value pkg = json::Value::Object();
  pkg.Set("family", json::Value::String(family));
  pkg.Set("name", json::Value::String(id.name));
  pkg.Set("version", json::Value::String(id.version));
  pkg.Set("architecture", json::Value::String(id.architecture));
  pkg.Set("resourceId", json::Value::String(id.resource_id));
  pkg.Set("publisherId", json::Value::String(id.publisher_id));
  pkg.Set("origin", json::Value::String("nonStore"));
  pkg.Set("installDate", json::Value::String(FormatIsoUtc(ctx.host.Now())));
  pkg.Set("installLocation",
          json::Value::String("C:\\Program Files\\WindowsApps\\" + id.FullName()));
  pkg.Set("isBundle", json::Value::Int(id.bundle ? 1 : 0));
  pkg.Set("isFramework", json::Value::Int(framework ? 1 : 0));
  packages.Set(id.FullName(), std::move(pkg));
}

int HostedInstall(HookContext& ctx, const std::optional<std::string>& data) {
  if (!data || ctx.path.size() <= kFamily) return 400;
  HostedInstallJob job;
  std::string error;
  if (!ParseHostedInstall(*data, &job, &error)) return 400;
  const std::string& family = ctx.path[kFamily - 1];  // AppInstallation/<PFN>/HostedInstall
  std::int64_t code = 0;
  std::string desc;
  std::vector<PackageIdentity> deps;
  for (const std::string& uri : job.dependency_uris) {
    PackageIdentity dep;
    if (!CheckPackage(uri, &dep, &code, &desc)) {
      FailInstall(ctx, family, code, "dependency: " + desc);
      return 200;
    }
    deps.push_back(dep);
  }
  PackageIdentity id;
  if (!CheckPackage(job.package_uri, &id, &code, &desc)) {
    FailInstall(ctx, family, code, desc);
    return 200;
  }
  if (id.FamilyName() != family) {
    FailInstall(ctx, family, kInvalidArg,
                "the package's family name " + id.FamilyName() +
                    " does not match the AppInstallation node " + family);
    return 200;
  }
  const std::string installed = InstalledVersion(ctx.state, family);
  if (!installed.empty() && CompareVersions(id.version, installed) < 0) {
    FailInstall(
        ctx, family, kDowngrade,
        "version " + installed + " of " + family + " is installed; " + id.version + " is lower");
    return 200;
  }
  for (const PackageIdentity& dep : deps) {
    if (InstalledVersion(ctx.state, dep.FamilyName()).empty() ||
        CompareVersions(dep.version, InstalledVersion(ctx.state, dep.FamilyName())) > 0) {
      RecordPackage(ctx, dep, true);
    }
  }
  RecordPackage(ctx, id, false);
  AppsMember(ctx.state, "installations").Erase(family);
  return 200;
}

std::vector<std::string> Installations(HookContext& ctx) {
  std::vector<std::string> out;
  if (const json::Value* all = ctx.state.apps.Find("installations")) {
    for (const auto& [family, record] : all->members()) out.push_back(family);
  }
  return out;
}

int InstallationLeaf(HookContext& ctx, std::string* value) {
  const json::Value* record = AppsFind(ctx.state, "installations", ctx.path[kFamily - 1]);
  if (record == nullptr) return 404;
  const std::string& leaf = ctx.path.back();
  if (leaf == "Status") {
    *value = std::to_string(Int(record, "status"));
  } else if (leaf == "LastError") {
    *value = std::to_string(Int(record, "lastError"));
  } else if (leaf == "LastErrorDesc") {
    *value = Str(record, "lastErrorDesc");
  } else if (leaf == "ProgressStatus") {
    *value = "0";
  } else {
    return 404;
  }
  return 200;
}

int RemoveInstallation(HookContext& ctx) {
  AppsMember(ctx.state, "installations").Erase(ctx.path[kFamily - 1]);
  return 200;
}

// Full names of the packages of `origin` (and of `family`, when given).
std::vector<std::string> Packages(const BehaviorState& state, const std::string& origin,
                                  const std::string* family) {
  std::vector<std::string> out;
  const json::Value* packages = state.apps.Find("packages");
  if (packages == nullptr) return out;
  for (const auto& [full, pkg] : packages->members()) {
    if (Str(&pkg, "origin") != origin) continue;
    if (family != nullptr && Str(&pkg, "family") != *family) continue;
    out.push_back(full);
  }
  return out;
}

std::vector<std::string> Families(HookContext& ctx) {
  std::vector<std::string> out;
  for (const std::string& full : Packages(ctx.state, ctx.path[kOrigin], nullptr)) {
    const std::string family = Str(AppsFind(ctx.state, "packages", full), "family");
    if (out.empty() || out.back() != family) out.push_back(family);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// AppManagement/nonStore, shown while it lists installed packages (AppStore holds the device
// profile's Store apps as plain tree nodes: no hooks there).
std::vector<std::string> Categories(HookContext& ctx) {
  const json::Value* packages = ctx.state.apps.Find("packages");
  if (packages == nullptr || packages->size() == 0) return {};
  return {"nonStore"};
}

std::vector<std::string> FullNames(HookContext& ctx) {
  return Packages(ctx.state, ctx.path[kOrigin], &ctx.path[kFamily]);
}

int PackageLeaf(HookContext& ctx, std::string* value) {
  const json::Value* pkg = AppsFind(ctx.state, "packages", ctx.path[kFullName]);
  if (pkg == nullptr) return 404;
  const std::string& leaf = ctx.path.back();
  if (leaf == "Name") {
    *value = Str(pkg, "name");
  } else if (leaf == "Version") {
    *value = Str(pkg, "version");
  } else if (leaf == "Architecture") {
    *value = Str(pkg, "architecture");
  } else if (leaf == "ResourceID") {
    *value = Str(pkg, "resourceId");
  } else if (leaf == "Publisher") {
    *value = Str(pkg, "publisherId");
  } else if (leaf == "InstallDate") {
    *value = Str(pkg, "installDate");
  } else if (leaf == "InstallLocation") {
    *value = Str(pkg, "installLocation");
  } else if (leaf == "IsBundle") {
    *value = std::to_string(Int(pkg, "isBundle"));
  } else if (leaf == "IsFramework") {
    *value = std::to_string(Int(pkg, "isFramework"));
  } else if (leaf == "Users") {
    *value = std::string();
  } else {
    *value = "0";  // IsProvisioned, IsStub, PackageStatus, RequiresReinstall
  }
  return 200;
}

int RemoveFamily(HookContext& ctx) {
  const std::vector<std::string> names = FullNames(ctx);
  if (names.empty()) return 404;
  json::Value& packages = AppsMember(ctx.state, "packages");
  for (const std::string& full : names) packages.Erase(full);
  return 200;
}

int RemovePackage(HookContext& ctx) {
  const json::Value* pkg = AppsFind(ctx.state, "packages", ctx.path[kFullName]);
  if (pkg == nullptr || Str(pkg, "family") != ctx.path[kFamily]) return 404;
  AppsMember(ctx.state, "packages").Erase(ctx.path[kFullName]);
  return 200;
}

// ---- EnterpriseDesktopAppManagement --------------------------------------------------------

constexpr std::size_t kProduct = 5;  // ./Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/<id>

int DownloadInstall(HookContext& ctx, const std::optional<std::string>& data) {
  if (ctx.path.size() <= kProduct) return 400;
  Path product(ctx.path.begin(), ctx.path.begin() + kProduct + 1);
  if (ctx.tree.Find(product) == nullptr) return 404;  // MSI/<ProductID> is added first
  if (!data) return 400;
  MsiInstallJob job;
  std::string error;
  if (!ParseMsiInstallJob(*data, &job, &error)) return 400;
  json::Value record = json::Value::Object();
  record.Set("commandLine", json::Value::String(job.command_line));
  record.Set("version", json::Value::String(job.version));
  std::string path, content;
  if (!FileUriToPath(job.content_url, &path) || !ReadFile(path, &content) || content.empty()) {
    record.Set("status", json::Value::Int(kMsiDownloadFailed));
    record.Set("lastError", json::Value::Int(kFileNotFound));
    record.Set("lastErrorDesc",
               json::Value::String("the MSI file cannot be read: " + job.content_url));
  } else {
    const std::string digest = Sha256Hex(content);
    std::string wanted = job.file_hash;
    for (char& c : wanted)
      if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (digest != wanted) {
      record.Set("status", json::Value::Int(kMsiDownloadFailed));
      record.Set("lastError", json::Value::Int(kBadDigest));
      record.Set("lastErrorDesc", json::Value::String("the MSI file's SHA-256 is " + digest +
                                                      ", not the FileHash " + job.file_hash));
    } else {
      std::string name = BaseName(path);
      if (EndsWithNoCase(name, ".msi")) name.resize(name.size() - 4);
      record.Set("status", json::Value::Int(kMsiCompleted));
      record.Set("lastError", json::Value::Int(0));
      record.Set("lastErrorDesc", json::Value::String(""));
      record.Set("name", json::Value::String(name));
      record.Set("publisher", json::Value::String(""));
      record.Set("installPath", json::Value::String("C:\\Program Files\\" + name));
      record.Set("installDate", json::Value::String(FormatIsoUtc(ctx.host.Now())));
      record.Set("sha256", json::Value::String(digest));
    }
  }
  AppsMember(ctx.state, "msi").Set(ctx.path[kProduct], std::move(record));
  return 200;
}

int MsiLeaf(HookContext& ctx, std::string* value) {
  const json::Value* record = AppsFind(ctx.state, "msi", ctx.path[kProduct]);
  if (record == nullptr) return 404;
  const std::string& leaf = ctx.path.back();
  if (leaf == "Status" || leaf == "LastError") {
    *value = std::to_string(Int(record, leaf == "Status" ? "status" : "lastError"));
    return 200;
  }
  const char* key = leaf == "LastErrorDesc" ? "lastErrorDesc"
                    : leaf == "Version"     ? "version"
                    : leaf == "Name"        ? "name"
                    : leaf == "Publisher"   ? "publisher"
                    : leaf == "InstallPath" ? "installPath"
                    : leaf == "InstallDate" ? "installDate"
                                            : nullptr;
  // Name, Publisher, InstallPath and InstallDate exist only once the product is installed.
  if (key == nullptr || record->Find(key) == nullptr) return 404;
  *value = Str(record, key);
  return 200;
}

int RemoveMsi(HookContext& ctx) {
  AppsMember(ctx.state, "msi").Erase(ctx.path[kProduct]);
  return 200;
}

}  // namespace

std::string PackageIdentity::FullName() const {
  return name + "_" + version + "_" + architecture + "_" + resource_id + "_" + publisher_id;
}

std::string PackageIdentity::FamilyName() const { return name + "_" + publisher_id; }

bool ParsePackageFileName(std::string_view file_name, PackageIdentity* out) {
  std::string base = BaseName(file_name);
  bool bundle = false;
  if (EndsWithNoCase(base, ".appxbundle") || EndsWithNoCase(base, ".msixbundle")) {
    bundle = true;
    base.resize(base.size() - 11);
  } else if (EndsWithNoCase(base, ".appx") || EndsWithNoCase(base, ".msix")) {
    base.resize(base.size() - 5);
  } else {
    return false;
  }
  const std::vector<std::string> parts = Split(base, '_');
  if (parts.size() != 5) return false;
  PackageIdentity id;
  id.name = parts[0];
  id.version = parts[1];
  id.architecture = parts[2];
  id.resource_id = parts[3];
  id.publisher_id = parts[4];
  id.bundle = bundle;
  long v[4];
  if (id.name.size() < 3 || id.name.size() > 50 || !AllOf(id.name, ".-")) return false;
  if (!ParseVersion(id.version, v)) return false;
  const std::string& a = id.architecture;
  if (a != "x86" && a != "x64" && a != "arm" && a != "arm64" && a != "neutral") return false;
  if (id.resource_id.size() > 30 || !AllOf(id.resource_id, ".~-")) return false;
  if (id.publisher_id.size() != 13 || !AllOf(id.publisher_id, "", false)) return false;
  *out = std::move(id);
  return true;
}

bool FileUriToPath(std::string_view uri, std::string* path) {
  std::string_view rest;
  if (uri.size() >= 7 && EndsWithNoCase(uri.substr(0, 7), "file://")) {
    rest = uri.substr(7);
    if (rest.substr(0, 9) == "localhost") rest.remove_prefix(9);
    if (rest.empty() || rest.front() != '/') return false;
    // file:///C:/x -> C:/x
    if (rest.size() >= 3 && rest[2] == ':' &&
        ((rest[1] >= 'A' && rest[1] <= 'Z') || (rest[1] >= 'a' && rest[1] <= 'z')))
      rest.remove_prefix(1);
  } else if (!uri.empty() && uri.front() == '/') {
    rest = uri;
  } else if (uri.size() >= 3 && uri[1] == ':' && (uri[2] == '\\' || uri[2] == '/')) {
    rest = uri;
  } else {
    return false;
  }
  std::string out;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] != '%') {
      out.push_back(rest[i]);
      continue;
    }
    if (i + 2 >= rest.size()) return false;
    const std::string hex(rest.substr(i + 1, 2));
    char* end = nullptr;
    const long c = std::strtol(hex.c_str(), &end, 16);
    if (end != hex.c_str() + 2 || c == 0) return false;
    out.push_back(static_cast<char>(c));
    i += 2;
  }
  *path = std::move(out);
  return true;
}

bool ParseHostedInstall(std::string_view text, HostedInstallJob* out, std::string* error) {
  xml::Document doc;
  if (!xml::Parse(text, &doc, error)) return false;
  const xml::Element& root = doc.root();
  if (root.name != "Application") {
    *error = "the root element is not <Application>";
    return false;
  }
  HostedInstallJob job;
  if (!OnlyAttributes(root, {"PackageUri", "DeploymentOptions"}, error)) return false;
  if (!Attribute(root, "PackageUri", &job.package_uri) || job.package_uri.empty()) {
    *error = "<Application> has no PackageUri";
    return false;
  }
  if (!OnlyChildren(doc, root, {"Dependencies"}, error)) return false;
  for (std::size_t i : root.children) {
    const xml::Element& deps = doc.at(i);
    if (!OnlyChildren(doc, deps, {"Dependency"}, error)) return false;
    for (std::size_t j : deps.children) {
      const xml::Element& dep = doc.at(j);
      std::string uri;
      if (!OnlyAttributes(dep, {"PackageUri"}, error)) return false;
      if (!Attribute(dep, "PackageUri", &uri) || uri.empty()) {
        *error = "<Dependency> has no PackageUri";
        return false;
      }
      job.dependency_uris.push_back(std::move(uri));
    }
  }
  *out = std::move(job);
  return true;
}

bool ParseMsiInstallJob(std::string_view text, MsiInstallJob* out, std::string* error) {
  xml::Document doc;
  if (!xml::Parse(text, &doc, error)) return false;
  const xml::Element& root = doc.root();
  MsiInstallJob job;
  if (root.name != "MsiInstallJob" || !OnlyAttributes(root, {"id"}, error) ||
      !OnlyChildren(doc, root, {"Product"}, error)) {
    if (error->empty()) *error = "the root element is not <MsiInstallJob>";
    return false;
  }
  Attribute(root, "id", &job.id);
  const xml::Element* product = Child(doc, root, "Product");
  if (product == nullptr || root.children.size() != 1) {
    *error = "<MsiInstallJob> needs exactly one <Product>";
    return false;
  }
  if (!OnlyAttributes(*product, {"Version"}, error) ||
      !OnlyChildren(doc, *product, {"Download", "Validation", "Enforcement"}, error))
    return false;
  if (!Attribute(*product, "Version", &job.version) || job.version.empty()) {
    *error = "<Product> has no Version";
    return false;
  }
  const xml::Element* download = Child(doc, *product, "Download");
  const xml::Element* list =
      download == nullptr ? nullptr : Child(doc, *download, "ContentURLList");
  const xml::Element* url = list == nullptr ? nullptr : Child(doc, *list, "ContentURL");
  if (url == nullptr || !OnlyChildren(doc, *download, {"ContentURLList"}, error) ||
      !OnlyChildren(doc, *list, {"ContentURL"}, error)) {
    if (error->empty()) *error = "<Download><ContentURLList><ContentURL> is missing";
    return false;
  }
  job.content_url = Trimmed(url->text);
  const xml::Element* validation = Child(doc, *product, "Validation");
  const xml::Element* hash = validation == nullptr ? nullptr : Child(doc, *validation, "FileHash");
  if (hash == nullptr || !OnlyChildren(doc, *validation, {"FileHash"}, error)) {
    if (error->empty()) *error = "<Validation><FileHash> is missing";
    return false;
  }
  job.file_hash = Trimmed(hash->text);
  if (job.file_hash.size() != 64 || !AllOf(job.file_hash, "")) {
    *error = "<FileHash> is not a SHA-256 in hex";
    return false;
  }
  if (const xml::Element* e = Child(doc, *product, "Enforcement")) {
    if (!OnlyChildren(doc, *e,
                      {"CommandLine", "TimeOut", "RetryCount", "RetryInterval", "DownloadFromAad"},
                      error))
      return false;
    if (const xml::Element* c = Child(doc, *e, "CommandLine")) job.command_line = Trimmed(c->text);
    long aad = 0;
    if (!IntText(Child(doc, *e, "TimeOut"), &job.timeout) ||
        !IntText(Child(doc, *e, "RetryCount"), &job.retry_count) ||
        !IntText(Child(doc, *e, "RetryInterval"), &job.retry_interval) ||
        !IntText(Child(doc, *e, "DownloadFromAad"), &aad)) {
      *error = "an <Enforcement> number is not a non-negative integer";
      return false;
    }
  }
  *out = std::move(job);
  return true;
}

int CompareVersions(std::string_view a, std::string_view b) {
  long x[4] = {0, 0, 0, 0}, y[4] = {0, 0, 0, 0};
  ParseVersion(a, x);
  ParseVersion(b, y);
  for (int i = 0; i < 4; ++i) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}

std::int32_t ManageAppLifecycle(const std::string& pfn, const std::string& action, std::int64_t now,
                                json::Value* events, std::string* reason) {
  if (action != "start" && action != "stop") {
    *reason = "the action must be start or stop, not \"" + action + "\"";
    return static_cast<std::int32_t>(0x80070057u);
  }
  BehaviorState state = BehaviorState::Load(*events);
  if (InstalledVersion(state, pfn).empty()) {
    *reason = "no package of the family " + pfn + " is installed";
    return static_cast<std::int32_t>(0x80070490u);
  }
  AppsMember(state, "running").Set(pfn, json::Value::Bool(action == "start"));
  json::Value& log = state.apps.mutable_member("lifecycle");
  json::Value entry = json::Value::Object();
  entry.Set("pkgFamilyName", json::Value::String(pfn));
  entry.Set("action", json::Value::String(action));
  entry.Set("time", json::Value::String(FormatIsoUtc(now)));
  log.Append(std::move(entry));
  std::vector<json::Value>& items = log.mutable_items();
  if (items.size() > 100) items.erase(items.begin(), items.end() - 100);
  events->Set("apps", state.apps);
  return 0;
}

void RegisterAppBehaviors(Behaviors* b) {
  const std::string emm = "./Device/Vendor/MSFT/EnterpriseModernAppManagement";
  NodeHooks install;
  install.exec = HostedInstall;
  b->Register(emm + "/AppInstallation/<x>/HostedInstall", install);
  NodeHooks installations;
  installations.children = Installations;
  b->Register(emm + "/AppInstallation", installations);
  NodeHooks installation;
  installation.remove = RemoveInstallation;
  b->Register(emm + "/AppInstallation/<x>", installation);
  NodeHooks installation_leaf;
  installation_leaf.get = InstallationLeaf;
  for (const char* leaf : {"Status", "LastError", "LastErrorDesc", "ProgressStatus"}) {
    b->Register(emm + "/AppInstallation/<x>/" + leaf, installation_leaf);
  }
  NodeHooks categories;
  categories.children = Categories;
  b->Register(emm + "/AppManagement", categories);  // before the hooks under it
  for (const char* origin : {"nonStore"}) {
    const std::string base = emm + "/AppManagement/" + origin;
    NodeHooks families;
    families.children = Families;
    b->Register(base, families);  // registered before <x>: its instances exist first
    NodeHooks family;
    family.children = FullNames;
    family.remove = RemoveFamily;
    b->Register(base + "/<x>", family);
    NodeHooks package;
    package.remove = RemovePackage;
    b->Register(base + "/<x>/<x>", package);
    NodeHooks leaf;
    leaf.get = PackageLeaf;
    for (const char* name :
         {"Name", "Version", "Architecture", "ResourceID", "Publisher", "InstallDate",
          "InstallLocation", "IsBundle", "IsFramework", "IsProvisioned", "IsStub", "PackageStatus",
          "RequiresReinstall", "Users"}) {
      b->Register(base + "/<x>/<x>/" + name, leaf);
    }
  }
  const std::string msi = "./Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/<x>";
  NodeHooks download;
  download.exec = DownloadInstall;
  b->Register(msi + "/DownloadInstall", download);
  NodeHooks product;
  product.remove = RemoveMsi;
  b->Register(msi, product);
  NodeHooks msi_leaf;
  msi_leaf.get = MsiLeaf;
  for (const char* name : {"Status", "LastError", "LastErrorDesc", "Version", "Name", "Publisher",
                           "InstallPath", "InstallDate"}) {
    b->Register(msi + "/" + name, msi_leaf);
  }
}

}  // namespace wdm::emulator
