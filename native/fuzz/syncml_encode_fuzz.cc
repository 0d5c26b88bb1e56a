// libFuzzer target: the addon's SyncML encoder (codec_client.cc EncodeOps) against the device's
// parser (codec_device.cc ParseRequest): any URI, Format, Type and Data made of XML 1.0 text (the
// addon refuses anything else before encoding; URI, Format and Type without surrounding white
// space, which the reader trims from leaves) must come back exactly, as exactly one command per
// op (one <Atomic> holding them when atomic) with exactly one item: a value never becomes markup,
// never adds or removes an element. Built by scripts/fuzz.sh with
// -fsanitize=fuzzer,address,undefined.
//
// Input layout: byte 0 = op count (low 2 bits + 1) and atomic flag (bit 2); the next `count` bytes
// pick each op's verb (value % 5) and whether it carries data (bit 7); the rest is split on 0x01
// into the fields uri, format, type, data of op 0, then op 1, ... (missing fields are empty).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/xml_escape.h"
#include "syncml/codec.h"

namespace {

using wdm::syncml::Command;
using wdm::syncml::Op;
using wdm::syncml::Verb;

constexpr Verb kVerbs[] = {Verb::kGet, Verb::kAdd, Verb::kReplace, Verb::kDelete, Verb::kExec};

void Expect(bool ok) {
  if (!ok) std::abort();
}

bool ValidText(const std::string& text) {
  std::string error;
  return wdm::xml::IsValidXmlText(text, &error);
}

bool IsXmlSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool Padded(const std::string& text) {
  return !text.empty() && (IsXmlSpace(text.front()) || IsXmlSpace(text.back()));
}

void CheckItem(const Command& command, const Op& op) {
  Expect(command.name == wdm::syncml::VerbName(op.verb));
  Expect(command.cmd_id.has_value());
  Expect(command.children.empty());
  Expect(command.items.size() == 1);
  const auto& item = command.items[0];
  Expect(item.target.has_value() && *item.target == op.uri);
  Expect(!item.source.has_value());
  if (op.data.has_value()) {
    Expect(item.data.has_value() && *item.data == *op.data);
  } else {
    Expect(!item.data.has_value());
  }
  if (!op.format.empty()) Expect(item.meta.format.has_value() && *item.meta.format == op.format);
  if (!op.type.empty()) Expect(item.meta.type.has_value() && *item.meta.type == op.type);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t count = (data[0] & 3u) + 1;
  const bool atomic = (data[0] & 4u) != 0;
  if (size < 1 + count) return 0;
  std::vector<std::string> fields;
  std::string field;
  for (std::size_t i = 1 + count; i < size; ++i) {
    if (data[i] == 0x01) {
      fields.push_back(field);
      field.clear();
    } else {
      field.push_back(static_cast<char>(data[i]));
    }
  }
  fields.push_back(field);
  fields.resize(4 * count);
  std::vector<Op> ops(count);
  for (std::size_t i = 0; i < count; ++i) {
    ops[i].verb = kVerbs[(data[1 + i] & 0x7Fu) % 5];
    ops[i].uri = fields[4 * i];
    ops[i].format = fields[4 * i + 1];
    ops[i].type = fields[4 * i + 2];
    if ((data[1 + i] & 0x80u) != 0) ops[i].data = fields[4 * i + 3];
  }
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (!ValidText(fields[i])) return 0;  // the addon refuses such a string before encoding
    // URIs (never empty), formats and types are leaves the reader trims of XML white space; Csp
    // never sends them with any (uri.ts, values.ts). Data is kept exactly.
    if (i % 4 != 3 && Padded(fields[i])) return 0;
    if (i % 4 == 0 && fields[i].empty()) return 0;
  }

  const std::string body = wdm::syncml::EncodeOps(ops, atomic);
  std::vector<Command> commands;
  std::string error;
  Expect(wdm::syncml::ParseRequest(body, &commands, &error));
  if (atomic) {
    Expect(commands.size() == 1 && commands[0].name == "Atomic");
    Expect(commands[0].children.size() == count);
    for (std::size_t i = 0; i < count; ++i) CheckItem(commands[0].children[i], ops[i]);
  } else {
    Expect(commands.size() == count);
    for (std::size_t i = 0; i < count; ++i) CheckItem(commands[i], ops[i]);
  }
  return 0;
}
