// A DER X.509 certificate built field by field for the native tests (certificates_test,
// emulator_test): no key material, the key and signature bits are filler. The emulator's
// certificate stores accept it under the SHA-1 of its bytes (certificates.h).
#pragma once

#include <cstdint>
#include <string>

namespace wdm::test {

inline std::string Tlv(std::uint8_t tag, const std::string& content) {
  std::string out(1, static_cast<char>(tag));
  const std::size_t n = content.size();
  if (n < 0x80) {
    out.push_back(static_cast<char>(n));
  } else if (n < 0x100) {
    out.push_back('\x81');
    out.push_back(static_cast<char>(n));
  } else {
    out.push_back('\x82');
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  }
  return out + content;
}
inline std::string Seq(const std::string& c) { return Tlv(0x30, c); }
inline std::string Set(const std::string& c) { return Tlv(0x31, c); }
inline std::string Oid(const std::string& bytes) { return Tlv(0x06, bytes); }

inline const std::string kCn("\x55\x04\x03", 3);
inline const std::string kO("\x55\x04\x0A", 3);
inline const std::string kC("\x55\x04\x06", 3);

inline std::string Attribute(const std::string& oid, std::uint8_t type, const std::string& value) {
  return Set(Seq(Oid(oid) + Tlv(type, value)));
}

inline std::string Bmp(const std::string& ascii) {
  std::string out;
  for (char c : ascii) {
    out.push_back('\0');
    out.push_back(c);
  }
  return out;
}

struct CertSpec {
  std::string subject_cn = "Contoso Device";
  std::string issuer_cn = "Contoso Issuing CA";
  std::string not_before = "250102030405Z";   // UTCTime
  std::string not_after = "20350606070809Z";  // GeneralizedTime
  std::string template_name = "WebServer";    // "" = no extension
  bool subject_without_cn = false;
};

inline std::string BuildCertificate(const CertSpec& spec) {
  const std::string alg =
      Seq(Oid(std::string("\x2A\x86\x48\x86\xF7\x0D\x01\x01\x0B", 9)) + std::string("\x05\x00", 2));
  const std::string issuer = Seq(Attribute(kC, 0x13, "CH") + Attribute(kO, 0x0C, "Contoso") +
                                 Attribute(kCn, 0x0C, spec.issuer_cn));
  const std::string subject =
      spec.subject_without_cn
          ? Seq(Attribute(kC, 0x13, "CH") + Attribute(kO, 0x0C, "Fabrikam"))
          : Seq(Attribute(kO, 0x0C, "Contoso") + Attribute(kCn, 0x1E, Bmp(spec.subject_cn)));
  // 13 characters: UTCTime; else GeneralizedTime.
  const auto time = [](const std::string& text) {
    return Tlv(text.size() == 13 ? 0x17 : 0x18, text);
  };
  const std::string validity = Seq(time(spec.not_before) + time(spec.not_after));
  // Filler bits standing for a public key: not a key.
  const std::string spki = Seq(alg + Tlv(0x03, std::string(1, '\0') + std::string(140, '\x5A')));
  std::string tbs = Tlv(0xA0, Tlv(0x02, "\x02")) + Tlv(0x02, "\x01\x23") + alg + issuer + validity +
                    subject + spki;
  if (!spec.template_name.empty()) {
    const std::string ext = Seq(Oid(std::string("\x2B\x06\x01\x04\x01\x82\x37\x14\x02", 9)) +
                                Tlv(0x04, Tlv(0x1E, Bmp(spec.template_name))));
    const std::string basic =
        Seq(Oid("\x55\x1D\x13") + Tlv(0x01, "\xFF") + Tlv(0x04, Seq(Tlv(0x01, "\xFF"))));
    tbs += Tlv(0xA3, Seq(basic + ext));
  }
  // Filler bits standing for a signature.
  return Seq(Seq(tbs) + alg + Tlv(0x03, std::string(1, '\0') + std::string(64, '\x33')));
}

}  // namespace wdm::test
