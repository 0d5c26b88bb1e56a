// The emulated certificate stores (see certificates.h).
#include "emulator/certificates.h"

#include <cctype>

#include "emulator/behaviors.h"
#include "emulator/iso8601.h"
#include "emulator/sha1.h"
#include "emulator/x509.h"

namespace wdm::emulator {
namespace {

const char* const kStores[] = {
    "./Device/Vendor/MSFT/RootCATrustedCertificates/Root",
    "./Device/Vendor/MSFT/RootCATrustedCertificates/CA",
    "./Device/Vendor/MSFT/RootCATrustedCertificates/TrustedPublisher",
    "./Device/Vendor/MSFT/RootCATrustedCertificates/TrustedPeople",
    "./Device/Vendor/MSFT/RootCATrustedCertificates/UntrustedCertificates",
    "./Device/Vendor/MSFT/RootCATrustedCertificates/OemEsim",
    "./User/Vendor/MSFT/RootCATrustedCertificates/CA",
    "./User/Vendor/MSFT/RootCATrustedCertificates/TrustedPublisher",
    "./User/Vendor/MSFT/RootCATrustedCertificates/TrustedPeople",
    "./User/Vendor/MSFT/RootCATrustedCertificates/UntrustedCertificates",
    "./User/Vendor/MSFT/RootCATrustedCertificates/OemEsim",
    "./Device/Vendor/MSFT/CertificateStore/ROOT",
    "./Device/Vendor/MSFT/CertificateStore/ROOT/System",
    "./Device/Vendor/MSFT/CertificateStore/CA",
    "./Device/Vendor/MSFT/CertificateStore/CA/System",
    "./Device/Vendor/MSFT/CertificateStore/MY/User",
};

bool SameHex(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// The facts of the certificate stored beside the addressed leaf; false when there is none.
bool StoredFacts(const HookContext& ctx, CertificateFacts* facts) {
  if (ctx.path.empty()) return false;
  Path sibling = ctx.path;
  sibling.back() = "EncodedCertificate";
  const Instance* node = ctx.tree.Find(sibling);
  std::string der;
  return node != nullptr && Base64Decode(node->value, &der) && ParseCertificate(der, facts);
}

int WriteEncoded(HookContext& ctx, std::string* data) {
  if (ctx.path.size() < 2) return 400;
  return CheckEncodedCertificate(*data, ctx.path[ctx.path.size() - 2]).empty() ? 200 : 400;
}

int IssuedBy(HookContext& ctx, std::string* value) {
  CertificateFacts facts;
  if (!StoredFacts(ctx, &facts)) return 404;
  *value = facts.issued_by;
  return 200;
}

int IssuedTo(HookContext& ctx, std::string* value) {
  CertificateFacts facts;
  if (!StoredFacts(ctx, &facts)) return 404;
  *value = facts.issued_to;
  return 200;
}

int ValidFrom(HookContext& ctx, std::string* value) {
  CertificateFacts facts;
  if (!StoredFacts(ctx, &facts)) return 404;
  *value = FormatIsoUtc(facts.not_before);
  return 200;
}

int ValidTo(HookContext& ctx, std::string* value) {
  CertificateFacts facts;
  if (!StoredFacts(ctx, &facts)) return 404;
  *value = FormatIsoUtc(facts.not_after);
  return 200;
}

int TemplateName(HookContext& ctx, std::string* value) {
  CertificateFacts facts;
  if (!StoredFacts(ctx, &facts)) return 404;
  *value = facts.template_name;
  return 200;
}

}  // namespace

std::string CheckEncodedCertificate(std::string_view base64, std::string_view thumbprint) {
  std::string der;
  if (!Base64Decode(base64, &der)) return "not base64";
  CertificateFacts facts;
  if (!ParseCertificate(der, &facts)) return "not a DER X.509 certificate";
  if (!SameHex(Sha1Hex(der), thumbprint)) return "SHA-1 of the certificate is not the node name";
  return std::string();
}

void RegisterCertificateBehaviors(Behaviors* b) {
  for (const char* store : kStores) {
    const std::string base = std::string(store) + "/<x>/";
    NodeHooks write;
    write.write = WriteEncoded;
    b->Register(base + "EncodedCertificate", write);
    auto get = [b, &base](const char* leaf, int (*fn)(HookContext&, std::string*)) {
      NodeHooks h;
      h.get = fn;
      b->Register(base + leaf, h);
    };
    get("IssuedBy", IssuedBy);
    get("IssuedTo", IssuedTo);
    get("ValidFrom", ValidFrom);
    get("ValidTo", ValidTo);
    get("TemplateName", TemplateName);
  }
}

}  // namespace wdm::emulator
