// A minimal DER reader and the few X.509 facts the emulated certificate stores report
// (RootCATrustedCertificates and CertificateStore: IssuedBy, IssuedTo, ValidFrom, ValidTo,
// TemplateName). No recursion: the reader reads one TLV at a time, every length is checked
// against the bytes that remain, and the certificate's fixed shape is walked level by level.
// Signatures are not verified (Windows does not verify them when a certificate is added either).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wdm::emulator {

// One DER TLV: single-byte tag (low tag numbers only), definite length of at most 4 bytes.
struct DerElement {
  std::uint8_t tag = 0;
  std::string_view content;  // a view into the input
  std::size_t size = 0;      // header + content
};

// Reads the element starting at data[offset]; false when the bytes are not a DER TLV that fits
// (high tag number, indefinite or non-minimal length, a length beyond the input).
bool ReadDer(std::string_view data, std::size_t offset, DerElement* out);

struct CertificateFacts {
  std::string issued_to;        // subject: its CN, else the whole name ("O=..., C=...")
  std::string issued_by;        // issuer, likewise
  std::int64_t not_before = 0;  // Unix seconds (UTC)
  std::int64_t not_after = 0;
  std::string template_name;  // the Microsoft certificate template name extension, else ""
};

// Parses a DER X.509 certificate: SEQUENCE { tbsCertificate, signatureAlgorithm, signature }
// filling the whole input, with tbsCertificate's fields in order. False for anything else.
bool ParseCertificate(std::string_view der, CertificateFacts* out);

// Standard base64 (whitespace ignored, padding required); false for anything else.
bool Base64Decode(std::string_view text, std::string* out);

}  // namespace wdm::emulator
