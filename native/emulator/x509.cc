// DER reader and X.509 facts (see x509.h).
#include "emulator/x509.h"

#include <cstdio>
#include <vector>

#include "common/xml_chars.h"
#include "emulator/iso8601.h"

namespace wdm::emulator {
namespace {

constexpr std::uint8_t kInteger = 0x02;
constexpr std::uint8_t kBitString = 0x03;
constexpr std::uint8_t kOctetString = 0x04;
constexpr std::uint8_t kOid = 0x06;
constexpr std::uint8_t kUtf8String = 0x0C;
constexpr std::uint8_t kPrintableString = 0x13;
constexpr std::uint8_t kT61String = 0x14;
constexpr std::uint8_t kIa5String = 0x16;
constexpr std::uint8_t kUtcTime = 0x17;
constexpr std::uint8_t kGeneralizedTime = 0x18;
constexpr std::uint8_t kUniversalString = 0x1C;
constexpr std::uint8_t kBmpString = 0x1E;
constexpr std::uint8_t kSequence = 0x30;
constexpr std::uint8_t kSet = 0x31;
constexpr std::uint8_t kVersionTag = 0xA0;     // [0] EXPLICIT
constexpr std::uint8_t kExtensionsTag = 0xA3;  // [3] EXPLICIT

// Encoded OIDs (content bytes).
constexpr std::string_view kOidCn("\x55\x04\x03", 3);
// 1.3.6.1.4.1.311.20.2: szOID_ENROLL_CERTTYPE_EXTENSION (certificate template name).
constexpr std::string_view kOidTemplateName("\x2B\x06\x01\x04\x01\x82\x37\x14\x02", 9);

struct AttributeName {
  std::string_view oid;
  const char* label;
};
const AttributeName kNames[] = {
    {std::string_view("\x55\x04\x03", 3), "CN"},
    {std::string_view("\x55\x04\x06", 3), "C"},
    {std::string_view("\x55\x04\x07", 3), "L"},
    {std::string_view("\x55\x04\x08", 3), "S"},
    {std::string_view("\x55\x04\x0A", 3), "O"},
    {std::string_view("\x55\x04\x0B", 3), "OU"},
    {std::string_view("\x55\x04\x05", 3), "SERIALNUMBER"},
    {std::string_view("\x2A\x86\x48\x86\xF7\x0D\x01\x09\x01", 9), "E"},
};

// A code point of a certificate string as UTF-8 (out of range and surrogates → U+FFFD).
void AppendUtf8(std::uint32_t cp, std::string* out) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  xml::AppendUtf8(out, static_cast<char32_t>(cp));
}

// A directory string as UTF-8; false for a type that is not a string.
bool DecodeString(const DerElement& e, std::string* out) {
  out->clear();
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(e.content[i]); };
  switch (e.tag) {
    case kUtf8String:
    case kPrintableString:
    case kIa5String:
      out->assign(e.content);
      return true;
    case kT61String:  // treated as Latin-1, as Windows does for most of them
      for (std::size_t i = 0; i < e.content.size(); ++i) AppendUtf8(byte(i), out);
      return true;
    case kBmpString:
      if (e.content.size() % 2 != 0) return false;
      for (std::size_t i = 0; i < e.content.size(); i += 2) {
        std::uint32_t cp = (std::uint32_t{byte(i)} << 8) | byte(i + 1);
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 3 < e.content.size()) {
          const std::uint32_t low = (std::uint32_t{byte(i + 2)} << 8) | byte(i + 3);
          if (low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            i += 2;
          }
        }
        AppendUtf8(cp, out);
      }
      return true;
    case kUniversalString:
      if (e.content.size() % 4 != 0) return false;
      for (std::size_t i = 0; i < e.content.size(); i += 4) {
        AppendUtf8((std::uint32_t{byte(i)} << 24) | (std::uint32_t{byte(i + 1)} << 16) |
                       (std::uint32_t{byte(i + 2)} << 8) | byte(i + 3),
                   out);
      }
      return true;
    default:
      return false;
  }
}

// The elements of a constructed element's content, in order; false when they do not exactly
// fill it.
bool Children(std::string_view content, std::vector<DerElement>* out) {
  out->clear();
  std::size_t offset = 0;
  while (offset < content.size()) {
    DerElement e;
    if (!ReadDer(content, offset, &e)) return false;
    out->push_back(e);
    offset += e.size;
  }
  return true;
}

// Name ::= SEQUENCE OF SET OF SEQUENCE { type OID, value ANY }: the CN (the last one) when there
// is one, else "LABEL=value" pairs joined by ", ", most specific first, as Windows shows names.
bool ParseName(const DerElement& name, std::string* out) {
  if (name.tag != kSequence) return false;
  std::vector<DerElement> rdns;
  if (!Children(name.content, &rdns)) return false;
  std::string cn;
  std::vector<std::string> parts;
  std::vector<DerElement> attributes;
  std::vector<DerElement> pair;
  for (const DerElement& rdn : rdns) {
    if (rdn.tag != kSet || !Children(rdn.content, &attributes) || attributes.empty()) return false;
    for (const DerElement& attribute : attributes) {
      if (attribute.tag != kSequence || !Children(attribute.content, &pair) || pair.size() != 2 ||
          pair[0].tag != kOid) {
        return false;
      }
      std::string value;
      if (!DecodeString(pair[1], &value)) continue;  // a non-string value is not shown
      if (pair[0].content == kOidCn) cn = value;
      const char* label = nullptr;
      for (const AttributeName& known : kNames) {
        if (known.oid == pair[0].content) label = known.label;
      }
      if (label != nullptr) parts.push_back(std::string(label) + "=" + value);
    }
  }
  if (!cn.empty()) {
    *out = cn;
    return true;
  }
  out->clear();
  for (std::size_t i = parts.size(); i > 0; --i) {
    if (!out->empty()) out->append(", ");
    out->append(parts[i - 1]);
  }
  return true;
}

bool Digits(std::string_view text, std::size_t at, std::size_t count, int* value) {
  if (at + count > text.size()) return false;
  int v = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    v = v * 10 + (text[i] - '0');
  }
  *value = v;
  return true;
}

// UTCTime "YYMMDDHHMMSSZ" (YY < 50 is 20YY) or GeneralizedTime "YYYYMMDDHHMMSSZ", as DER
// requires them (seconds present, UTC).
bool ParseTime(const DerElement& e, std::int64_t* unix_seconds) {
  const std::string_view t = e.content;
  int year = 0;
  std::size_t at = 0;
  if (e.tag == kUtcTime && t.size() == 13) {
    if (!Digits(t, 0, 2, &year)) return false;
    year += year < 50 ? 2000 : 1900;
    at = 2;
  } else if (e.tag == kGeneralizedTime && t.size() == 15) {
    if (!Digits(t, 0, 4, &year)) return false;
    at = 4;
  } else {
    return false;
  }
  if (t.back() != 'Z') return false;
  int month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!Digits(t, at, 2, &month) || !Digits(t, at + 2, 2, &day) || !Digits(t, at + 4, 2, &hour) ||
      !Digits(t, at + 6, 2, &minute) || !Digits(t, at + 8, 2, &second)) {
    return false;
  }
  char iso[32];
  std::snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02dZ", year, month, day, hour, minute,
                second);
  return ParseIsoUtc(iso, unix_seconds);
}

// Extensions ::= SEQUENCE OF SEQUENCE { extnID OID, critical BOOLEAN OPTIONAL, extnValue OCTET
// STRING }: the template name extension's BMPString, when present.
bool ParseExtensions(const DerElement& wrapper, std::string* template_name) {
  std::vector<DerElement> inner;
  if (!Children(wrapper.content, &inner) || inner.size() != 1 || inner[0].tag != kSequence) {
    return false;
  }
  std::vector<DerElement> extensions;
  if (!Children(inner[0].content, &extensions)) return false;
  std::vector<DerElement> fields;
  for (const DerElement& extension : extensions) {
    if (extension.tag != kSequence || !Children(extension.content, &fields) || fields.size() < 2 ||
        fields.size() > 3 || fields[0].tag != kOid || fields.back().tag != kOctetString) {
      return false;
    }
    if (fields[0].content != kOidTemplateName) continue;
    DerElement value;
    if (ReadDer(fields.back().content, 0, &value) && value.size == fields.back().content.size()) {
      DecodeString(value, template_name);
    }
  }
  return true;
}

int B64Index(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

bool ReadDer(std::string_view data, std::size_t offset, DerElement* out) {
  if (offset >= data.size() || data.size() - offset < 2) return false;
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(data[offset + i]); };
  const std::uint8_t tag = byte(0);
  if ((tag & 0x1F) == 0x1F) return false;  // high tag numbers: not in a certificate's fields
  std::size_t header = 2;
  std::size_t length = byte(1);
  if (length & 0x80) {
    const std::size_t count = length & 0x7F;
    if (count == 0 || count > 4 || data.size() - offset < 2 + count) return false;
    length = 0;
    for (std::size_t i = 0; i < count; ++i) length = (length << 8) | byte(2 + i);
    if (byte(2) == 0 || length < 0x80) return false;  // DER: minimal length encoding
    header += count;
  }
  if (length > data.size() - offset - header) return false;
  out->tag = tag;
  out->content = data.substr(offset + header, length);
  out->size = header + length;
  return true;
}

bool ParseCertificate(std::string_view der, CertificateFacts* out) {
  DerElement certificate;
  if (!ReadDer(der, 0, &certificate) || certificate.tag != kSequence ||
      certificate.size != der.size()) {
    return false;
  }
  std::vector<DerElement> top;
  if (!Children(certificate.content, &top) || top.size() != 3 || top[0].tag != kSequence ||
      top[1].tag != kSequence || top[2].tag != kBitString) {
    return false;
  }
  std::vector<DerElement> tbs;
  if (!Children(top[0].content, &tbs)) return false;
  std::size_t i = 0;
  if (i < tbs.size() && tbs[i].tag == kVersionTag) ++i;
  // serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
  if (tbs.size() < i + 6 || tbs[i].tag != kInteger || tbs[i + 1].tag != kSequence ||
      tbs[i + 4].tag != kSequence || tbs[i + 5].tag != kSequence) {
    return false;
  }
  CertificateFacts facts;
  if (!ParseName(tbs[i + 2], &facts.issued_by) || !ParseName(tbs[i + 4], &facts.issued_to)) {
    return false;
  }
  std::vector<DerElement> validity;
  if (tbs[i + 3].tag != kSequence || !Children(tbs[i + 3].content, &validity) ||
      validity.size() != 2 || !ParseTime(validity[0], &facts.not_before) ||
      !ParseTime(validity[1], &facts.not_after)) {
    return false;
  }
  for (std::size_t j = i + 6; j < tbs.size(); ++j) {
    const std::uint8_t tag = tbs[j].tag;
    if (tag == 0x81 || tag == 0x82) continue;  // issuerUniqueID, subjectUniqueID
    if (tag != kExtensionsTag || j + 1 != tbs.size()) return false;
    if (!ParseExtensions(tbs[j], &facts.template_name)) return false;
  }
  *out = std::move(facts);
  return true;
}

bool Base64Decode(std::string_view text, std::string* out) {
  out->clear();
  std::uint32_t bits = 0;
  int count = 0;
  std::size_t padding = 0;
  std::size_t symbols = 0;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    ++symbols;
    if (c == '=') {
      ++padding;
      continue;
    }
    const int v = B64Index(c);
    if (v < 0 || padding > 0) return false;  // data after padding
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    if (++count == 4) {
      out->push_back(static_cast<char>(bits >> 16));
      out->push_back(static_cast<char>(bits >> 8));
      out->push_back(static_cast<char>(bits));
      bits = 0;
      count = 0;
    }
  }
  if (symbols % 4 != 0 || padding > 2) return false;
  if (count == 2 && padding == 2) {
    out->push_back(static_cast<char>(bits >> 4));
  } else if (count == 3 && padding == 1) {
    out->push_back(static_cast<char>(bits >> 10));
    out->push_back(static_cast<char>(bits >> 2));
  } else if (count != 0 || padding != 0) {
    return false;
  }
  return true;
}

}  // namespace wdm::emulator
