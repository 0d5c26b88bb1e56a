// LocURI parsing and node-name encoding (see uri.h).
#include "emulator/uri.h"

#include "common/xml_chars.h"

namespace wdm::emulator {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool DecodeSegment(std::string_view raw, std::string* out) {
  out->clear();
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '%') {
      out->push_back(raw[i]);
      continue;
    }
    if (raw.size() - i < 3) return false;
    const int hi = HexValue(raw[i + 1]);
    const int lo = HexValue(raw[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  std::size_t bad = 0;
  const char* reason = nullptr;
  return !out->empty() && xml::ValidateXmlChars(*out, &bad, &reason);
}

bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

bool ParseLocUri(std::string_view text, NodeUri* out) {
  *out = NodeUri();
  const std::size_t question = text.find('?');
  std::string_view path = text.substr(0, question);
  if (question != std::string_view::npos) {
    out->has_query = true;
    out->query = std::string(text.substr(question + 1));
  }
  out->written = std::string(path);
  if (path == ".") return true;
  if (path.substr(0, 2) == "./") path.remove_prefix(2);
  if (path.empty() || path[0] == '/') return false;
  for (;;) {
    const std::size_t slash = path.find('/');
    const std::string_view raw = path.substr(0, slash);
    if (raw.empty() || raw == "." || raw == "..") return false;
    std::string segment;
    if (!DecodeSegment(raw, &segment)) return false;
    out->path.push_back(std::move(segment));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  if (out->path[0] == "Vendor") out->path.insert(out->path.begin(), "Device");
  return true;
}

std::string EncodeSegment(std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : name) {
    if (IsUnreserved(c)) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
  return out;
}

std::string FormatPath(const Path& path) {
  if (path.empty()) return ".";
  std::string out = ".";
  for (const std::string& segment : path) {
    out.push_back('/');
    out.append(EncodeSegment(segment));
  }
  return out;
}

}  // namespace wdm::emulator
