// EnterpriseModernAppManagement (hosted app install, inventory, removal) and
// EnterpriseDesktopAppManagement (MSI install, status, removal), emulated: registered by
// RegisterAppBehaviors (behaviors.h), state in BehaviorState::apps (the persisted events member
// "apps"). Nothing is installed on the host: packages are recorded, never unpacked or run.
//
// THE PACKAGE NAME CONVENTION (emulator only): a package's identity is read from its FILE NAME,
// which must be the Windows package full name plus an extension:
//   <Name>_<Version>_<Arch>_<ResourceId>_<PublisherId>.appx | .msix | .appxbundle | .msixbundle
//   e.g. Contoso.Toaster_1.2.3.0_x64__8wekyb3d8bbwe.appx (ResourceId empty, "~" for bundles)
// Name 3-50 of [A-Za-z0-9.-]; Version four dot-separated numbers 0-65535; Arch x86|x64|arm|
// arm64|neutral; ResourceId at most 30 of [A-Za-z0-9.~-]; PublisherId 13 of [a-z0-9]. The family
// name is <Name>_<PublisherId>. (A real device reads the identity from the package manifest.)
//
// Nodes (./Device/Vendor/MSFT/EnterpriseModernAppManagement/..., as the DDF gives them):
//   AppInstallation/<PFN>/HostedInstall (Exec, xml)  Data: <Application PackageUri="..."
//        [DeploymentOptions="n"]> [<Dependencies><Dependency PackageUri="..."/>...</Dependencies>]
//        </Application>. PackageUri: a file URI (file:///path) or an absolute path. Malformed XML
//        or an unknown element/attribute -> 400. Otherwise 200, and then: every file must exist
//        and be readable (else 0x80070002), be named by the convention (else 0x80073CF0), the
//        main package's family must equal <PFN> (else 0x80070057), and a lower version than the
//        installed one is refused (0x80073D06); on any of those the installation is FAILED:
//        AppInstallation/<PFN>/Status 2 with LastError (HRESULT, signed int) and LastErrorDesc.
//        On success the dependencies and the package are installed (replacing other versions of
//        the same family) and the AppInstallation/<PFN> entry is removed, as Windows cleans it
//        up (Status then answers 404). The Exec needs no prior Add.
//   AppInstallation (children)  the families with a recorded (failed) installation; Delete of
//        AppInstallation/<PFN> forgets it.
//   AppManagement/nonStore/<PFN>/<PackageFullName>/...  the installed packages (HostedInstall
//        installs non-Store apps), children from the state; leaves Name, Version, Architecture,
//        ResourceID, Publisher (the PublisherId), InstallDate (ISO 8601 UTC), InstallLocation,
//        IsBundle, IsFramework (1 for a package installed as a dependency), IsProvisioned 0,
//        IsStub 0, PackageStatus 0, RequiresReinstall 0, Users "". AppStore/... has no hooks:
//        it holds the Store apps of the device profile as plain tree nodes (Delete removes them).
//        Delete of AppManagement/nonStore/<PFN> removes every package of the family, of
//        .../<PFN>/<PackageFullName> that package (404 when not installed).
//
// ./Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/<ProductID>/...:
//   DownloadInstall (Exec, xml)  MSI/<ProductID> must have been added (else 404). Data: an
//        <MsiInstallJob [id]><Product Version="..."><Download><ContentURLList><ContentURL>
//        (file URI or absolute path)...</ContentURLList></Download><Validation><FileHash>(SHA-256
//        hex)</FileHash></Validation><Enforcement><CommandLine/><TimeOut/><RetryCount/>
//        <RetryInterval/>[<DownloadFromAad/>]</Enforcement></Product></MsiInstallJob>; malformed
//        -> 400. Then 200 and: a missing/unreadable file -> Status 30 (download failed),
//        LastError 0x80070002; a FileHash other than the file's SHA-256 -> Status 30, LastError
//        0x80091007 (TRUST_E_BAD_DIGEST); else Status 70 (enforcement completed), the product
//        recorded with Version, Name (the file name without .msi), Publisher "", InstallPath
//        "C:\Program Files\<Name>", InstallDate (ISO 8601 UTC).
//   Status, LastError, LastErrorDesc, Version, Name, Publisher, InstallPath, InstallDate (Get)
//        from the record; 404 before any DownloadInstall. Delete of MSI/<ProductID> forgets it.
//
// State ("apps" member of events):
//   {"packages": {"<full name>": {"family","name","version","architecture","resourceId",
//                 "publisherId","origin": "nonStore"|"AppStore","installDate","installLocation",
//                 "isBundle","isFramework"}},
//    "installations": {"<PFN>": {"status", "lastError", "lastErrorDesc"}},
//    "msi": {"<ProductID>": {"status","lastError","lastErrorDesc","version","name","publisher",
//            "installPath","installDate","commandLine","sha256"}}}
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"

namespace wdm::emulator {

// A package identity parsed from a file name (see the convention above).
struct PackageIdentity {
  std::string name, version, architecture, resource_id, publisher_id;
  bool bundle = false;
  std::string FullName() const;
  std::string FamilyName() const;
};

// Parses the base name of `file_name` (directories are ignored); false when it does not follow
// the convention.
bool ParsePackageFileName(std::string_view file_name, PackageIdentity* out);

// "file:///a/b%20c" -> "/a/b c"; "file:///C:/x" -> "C:/x"; an absolute path is returned as is.
// False for anything else (http(s), relative paths, bad escapes).
bool FileUriToPath(std::string_view uri, std::string* path);

// The parsed HostedInstall data.
struct HostedInstallJob {
  std::string package_uri;
  std::vector<std::string> dependency_uris;
};
// False with `error` for malformed or unexpected XML.
bool ParseHostedInstall(std::string_view xml, HostedInstallJob* out, std::string* error);

// The parsed MsiInstallJob.
struct MsiInstallJob {
  std::string id, version, content_url, file_hash, command_line;
  long timeout = 0, retry_count = 0, retry_interval = 0;
};
bool ParseMsiInstallJob(std::string_view xml, MsiInstallJob* out, std::string* error);

// MdmEmulatorSystemAppLifecycle (emulator_abi.h) on the events object: S_OK, or the HRESULT with
// `reason`. `now`: Unix seconds for the record.
std::int32_t ManageAppLifecycle(const std::string& pfn, const std::string& action, std::int64_t now,
                                json::Value* events, std::string* reason);

// Compares two package versions "a.b.c.d": -1, 0, 1.
int CompareVersions(std::string_view a, std::string_view b);

}  // namespace wdm::emulator
