// Tests of the XML reader, the escaper and the SyncML codec (client and device sides).
#include <cstdint>
#include <string>
#include <vector>

#include "common/xml_escape.h"
#include "common/xml_reader.h"
#include "syncml/codec.h"
#include "test/test_util.h"

namespace {

using wdm::syncml::Command;
using wdm::syncml::Op;
using wdm::syncml::OpResult;
using wdm::syncml::Response;
using wdm::syncml::ResultItem;
using wdm::syncml::Verb;

bool ParseOk(const std::string& text, wdm::xml::Document* doc = nullptr) {
  wdm::xml::Document local;
  std::string error;
  const bool ok = wdm::xml::Parse(text, doc != nullptr ? doc : &local, &error);
  if (ok) CHECK(error.empty());
  return ok;
}

// Parses and expects failure with an error that mentions `fragment` and a byte offset.
void ExpectXmlError(const std::string& text, const std::string& fragment,
                    const wdm::xml::Limits& limits = wdm::xml::Limits()) {
  wdm::xml::Document doc;
  std::string error;
  const bool ok = wdm::xml::Parse(text, &doc, &error, limits);
  if (!CHECK(!ok)) {
    std::fprintf(stderr, "  input accepted: %s\n", text.substr(0, 200).c_str());
    return;
  }
  CHECK(doc.elements.empty());
  if (!CHECK(error.find("XML error at byte ") == 0 && error.find(fragment) != std::string::npos)) {
    std::fprintf(stderr, "  error was: %s (wanted '%s')\n", error.c_str(), fragment.c_str());
  }
}

std::string Escaped(std::string_view text) {
  std::string out;
  wdm::xml::AppendEscaped(&out, text);
  return out;
}

Op MakeOp(Verb verb, std::string uri, std::string format = "",
          std::optional<std::string> data = std::nullopt, std::string type = "") {
  Op op;
  op.verb = verb;
  op.uri = std::move(uri);
  op.format = std::move(format);
  op.data = std::move(data);
  op.type = std::move(type);
  return op;
}

// ---- escaping
// ------------------------------------------------------------------------------------

void TestEscape() {
  CHECK_EQ(Escaped("plain"), std::string("plain"));
  CHECK_EQ(Escaped("a&b<c>d\"e'f"), std::string("a&amp;b&lt;c&gt;d&quot;e&apos;f"));
  CHECK_EQ(Escaped("x\r\ny"), std::string("x&#13;\ny"));
  CHECK_EQ(Escaped(""), std::string(""));
  std::string error;
  CHECK(wdm::xml::IsValidXmlText("ok \t\n\r \xC3\xA9 \xF0\x9F\x98\x80", &error));
  CHECK(!wdm::xml::IsValidXmlText(std::string("a\0b", 3), &error));
  CHECK(error.find("byte 1") != std::string::npos);
  CHECK(!wdm::xml::IsValidXmlText("\x01", &error));
  CHECK(!wdm::xml::IsValidXmlText("\xEF\xBF\xBE", &error));      // U+FFFE
  CHECK(!wdm::xml::IsValidXmlText("\xC3", &error));              // truncated UTF-8
  CHECK(!wdm::xml::IsValidXmlText("\xED\xA0\x80", &error));      // encoded surrogate
  CHECK(!wdm::xml::IsValidXmlText("\xC0\xAF", &error));          // overlong
  CHECK(!wdm::xml::IsValidXmlText("\xF4\x90\x80\x80", &error));  // > U+10FFFF
}

// ---- XML reader
// ----------------------------------------------------------------------------------

void TestXmlBasics() {
  // The document refers into its input: the input outlives it.
  const std::string input =
      "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c --><?pi x?>"
      "<s:Root xmlns:s=\"urn:x\" a='1' b=\"x&amp;y\tz\"><Child>t1</Child>mid<!-- skip -->"
      "<Empty/><?pi inside?><C2 >t2</C2 ></s:Root>\n<!-- after --><?after?>\n";
  wdm::xml::Document doc;
  CHECK(ParseOk(input, &doc));
  CHECK_EQ(doc.elements.size(), std::size_t{4});
  const auto& root = doc.root();
  CHECK_EQ(root.qname, std::string("s:Root"));
  CHECK_EQ(root.name, std::string("Root"));
  CHECK_EQ(root.attributes.size(), std::size_t{3});
  CHECK_EQ(root.attributes[0].name, std::string("s"));
  CHECK_EQ(root.attributes[0].qname, std::string("xmlns:s"));
  CHECK_EQ(root.attributes[2].value, std::string("x&y z"));  // tab normalized in attributes
  CHECK_EQ(root.text, std::string("mid"));
  CHECK_EQ(root.children.size(), std::size_t{3});
  CHECK_EQ(doc.at(root.children[0]).text, std::string("t1"));
  CHECK_EQ(doc.at(root.children[1]).name, std::string("Empty"));
  CHECK_EQ(doc.at(root.children[2]).text, std::string("t2"));
  CHECK_EQ(doc.at(root.children[0]).parent, std::size_t{0});
  // Text that needs no decoding is a view into the input.
  CHECK(doc.at(root.children[0]).text.data() == input.data() + input.find("t1"));
}

void TestXmlEntitiesAndCdata() {
  const std::string input =
      "<a>&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#x1F600;&#0000067;<![CDATA[<b>&amp;</b>]]>"
      "&#13;x\r\ny\rz</a>";
  wdm::xml::Document doc;
  CHECK(ParseOk(input, &doc));
  CHECK_EQ(doc.root().text, std::string("<>&\"'AB\xF0\x9F\x98\x80"
                                        "C<b>&amp;</b>\rx\ny\nz"));
  const std::string empty_cdata = "<a><![CDATA[]]></a>";
  CHECK(ParseOk(empty_cdata, &doc));
  CHECK_EQ(doc.root().text, std::string());
  CHECK(ParseOk("<a>]]</a>", &doc));
  CHECK(ParseOk("<a>></a>", &doc));

  ExpectXmlError("<a>&nbsp;</a>", "unknown entity");
  ExpectXmlError("<a>&#0;</a>", "not allowed");
  ExpectXmlError("<a>&#1;</a>", "not allowed");
  ExpectXmlError("<a>&#xFFFE;</a>", "not allowed");
  ExpectXmlError("<a>&#xD800;</a>", "not allowed");
  ExpectXmlError("<a>&#x110000;</a>", "above U+10FFFF");
  ExpectXmlError("<a>&#99999999999999999999;</a>", "above U+10FFFF");
  ExpectXmlError("<a>&#X41;</a>", "invalid character reference");
  ExpectXmlError("<a>&#;</a>", "empty character reference");
  ExpectXmlError("<a>&#x;</a>", "empty character reference");
  ExpectXmlError("<a>&#12a;</a>", "invalid character reference");
  ExpectXmlError("<a>a & b</a>", "'&'");
  ExpectXmlError("<a>&amp</a>", "'&'");
  ExpectXmlError("<a>&lt</a>", "'&'");
  ExpectXmlError("<a>]]></a>", "']]>'");
  ExpectXmlError("<a x='&bogus;'/>", "unknown entity");
  ExpectXmlError("<a><![CDATA[x</a>", "end of input");
}

void TestXmlRejects() {
  ExpectXmlError("", "no root element");
  ExpectXmlError("   ", "no root element");
  ExpectXmlError("text<a/>", "text before the root");
  ExpectXmlError("<!DOCTYPE a><a/>", "DOCTYPE");
  ExpectXmlError("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", "DOCTYPE");
  ExpectXmlError("<a><!DOCTYPE a></a>", "declaration");
  ExpectXmlError("<a><!ENTITY x 'y'></a>", "declaration");
  ExpectXmlError("<a></b>", "does not match");
  ExpectXmlError("<a><b></a></b>", "does not match");
  ExpectXmlError("<a>", "not closed");
  ExpectXmlError("<a><b/>", "not closed");
  ExpectXmlError("<a/><b/>", "after the root");
  ExpectXmlError("<a/>x", "after the root");
  ExpectXmlError("<a/><![CDATA[x]]>", "after the root");
  ExpectXmlError("<a b=c/>", "quoted");
  ExpectXmlError("<a b='1' b='2'/>", "duplicate attribute");
  ExpectXmlError("<a b='1'c='2'/>", "whitespace");
  ExpectXmlError("<a b='<'/>", "'<'");
  ExpectXmlError("<a b='1/>", "end of input");
  ExpectXmlError("< a/>", "expected a name");
  ExpectXmlError("<1a/>", "expected a name");
  ExpectXmlError("<a:b:c/>", "qualified name");
  ExpectXmlError("<:a/>", "qualified name");
  ExpectXmlError("<a:/>", "qualified name");
  ExpectXmlError("<a/ >", "'>'");
  ExpectXmlError("<a><!-- x -- y --></a>", "'--'");
  ExpectXmlError("<a><!-- x ---></a>", "'--'");
  ExpectXmlError("<a><!-- x </a>", "end of input");
  ExpectXmlError(" <?xml version='1.0'?><a/>", "XML declaration");
  ExpectXmlError("<a/><?xml version='1.0'?>", "XML declaration");
  ExpectXmlError("<a><?XML x?></a>", "XML declaration");
  ExpectXmlError("<?pi", "end of input");
  ExpectXmlError("<a><?pi x</a>", "end of input");
  ExpectXmlError("<a>\xC3</a>", "invalid UTF-8");
  ExpectXmlError("<a>\xFF</a>", "invalid UTF-8");
  ExpectXmlError(std::string("<a>\0</a>", 8), "not allowed");
  ExpectXmlError("<a>\x1B</a>", "not allowed");
  ExpectXmlError("<a>\xEF\xBF\xBF</a>", "not allowed");
  ExpectXmlError("<a></a >x", "after the root");
}

void TestXmlLimits() {
  std::string deep;
  for (int i = 0; i < 64; ++i) deep += "<e>";
  for (int i = 0; i < 64; ++i) deep += "</e>";
  CHECK(ParseOk(deep));
  ExpectXmlError("<r>" + deep + "</r>", "nested deeper than 64");

  wdm::xml::Limits small;
  small.max_elements = 3;
  ExpectXmlError("<a><b/><c/><d/></a>", "more than 3 elements", small);
  wdm::xml::Document doc;
  std::string error;
  CHECK(wdm::xml::Parse("<a><b/><c/></a>", &doc, &error, small));

  small.max_bytes = 10;
  ExpectXmlError("<a>0123456789</a>", "limit of 10", small);
  // The real default limits.
  std::string big = "<a>" + std::string(64u * 1024u * 1024u, 'x') + "</a>";
  ExpectXmlError(big, "more than the limit");
  std::string many = "<a>";
  for (int i = 0; i < 1000000; ++i) many += "<b/>";
  many += "</a>";
  ExpectXmlError(many, "more than 1000000 elements");
}

void TestXmlOffsetsAndRawInner() {
  const std::string text = "<a><Data><x y='1'>t&amp;</x> tail</Data></a>";
  wdm::xml::Document doc;
  CHECK(ParseOk(text, &doc));
  const auto& data = doc.at(doc.root().children[0]);
  CHECK_EQ(text.substr(data.inner_begin, data.inner_end - data.inner_begin),
           std::string("<x y='1'>t&amp;</x> tail"));
  CHECK_EQ(data.offset, std::size_t{3});
  wdm::xml::Document doc2;
  std::string error;
  CHECK(!wdm::xml::Parse("<a>\n<b></c></a>", &doc2, &error));
  CHECK(error.find("XML error at byte 7:") == 0 &&
        error.find("<b> at byte 4") != std::string::npos);
}

// Deterministic mutation fuzzing: the reader must never crash (ASan/UBSan watch this) and must
// accept exactly what it accepts, with a consistent DOM.
void TestXmlFuzz() {
  const std::string seeds[] = {
      "<SyncML><SyncBody><Status><CmdRef>1</CmdRef><Data>200</Data></Status></SyncBody></SyncML>",
      "<?xml version='1.0'?><a x='1' y=\"&amp;\"><b>&#x41;<![CDATA[z]]></b><!--c--><c/></a>",
  };
  std::uint32_t state = 12345;
  auto next = [&state]() {
    state = state * 1103515245u + 12345u;
    return (state >> 8) & 0xFFFFFF;
  };
  const char alphabet[] =
      "<>/&;#x'\"=![]-?CDATA \n\xC3\xA9\x80"
      "a1:";
  int accepted = 0;
  for (int round = 0; round < 40000; ++round) {
    std::string text = seeds[round % 2];
    const int edits = 1 + next() % 4;
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = next() % (text.size() + 1);
      switch (next() % 3) {
        case 0:
          if (pos < text.size()) text.erase(pos, 1 + next() % 3);
          break;
        case 1:
          text.insert(pos, 1, alphabet[next() % (sizeof(alphabet) - 1)]);
          break;
        default:
          if (pos < text.size()) text[pos] = alphabet[next() % (sizeof(alphabet) - 1)];
      }
    }
    wdm::xml::Document doc;
    std::string error;
    if (wdm::xml::Parse(text, &doc, &error)) {
      ++accepted;
      for (std::size_t i = 0; i < doc.elements.size(); ++i) {
        const auto& el = doc.elements[i];
        if (!(el.inner_begin <= el.inner_end && el.inner_end <= text.size())) {
          CHECK(false);
          break;
        }
      }
    } else if (error.empty()) {
      CHECK(false);
    }
  }
  CHECK(accepted > 0);
}

// ---- client side
// ---------------------------------------------------------------------------------

void TestEncodeOpsShape() {
  std::vector<Op> ops{
      MakeOp(Verb::kGet, "./DevDetail/SwV"),
      MakeOp(Verb::kReplace, "./Vendor/MSFT/Policy/Config/Update/ActiveHoursStart", "int", "8")};
  CHECK_EQ(wdm::syncml::EncodeOps(ops, false),
           std::string("<SyncBody><Get><CmdID>1</CmdID><Item><Target><LocURI>./DevDetail/SwV"
                       "</LocURI></Target></Item></Get><Replace><CmdID>2</CmdID><Item><Target>"
                       "<LocURI>./Vendor/MSFT/Policy/Config/Update/ActiveHoursStart</LocURI>"
                       "</Target><Meta><Format xmlns=\"syncml:metinf\">int</Format><Type "
                       "xmlns=\"syncml:metinf\">text/plain</Type></Meta><Data>8</Data></Item>"
                       "</Replace></SyncBody>"));
  const std::string atomic = wdm::syncml::EncodeOps(ops, true);
  CHECK(atomic.find("<SyncBody><Atomic><CmdID>3</CmdID><Get><CmdID>1</CmdID>") == 0);
  CHECK(atomic.find("</Replace></Atomic></SyncBody>") != std::string::npos);
  CHECK_EQ(wdm::syncml::EncodeOps({}, false), std::string("<SyncBody></SyncBody>"));
  CHECK_EQ(std::string(wdm::syncml::VerbName(Verb::kExec)), std::string("Exec"));
  Verb verb = Verb::kGet;
  CHECK(wdm::syncml::VerbFromName("Delete", &verb) && verb == Verb::kDelete);
  CHECK(!wdm::syncml::VerbFromName("delete", &verb));
  CHECK(!wdm::syncml::VerbFromName("Atomic", &verb));
}

void TestInjectionIsData() {
  const std::string evil =
      "</Data></Item></Replace><Exec><CmdID>9</CmdID><Item><Target><LocURI>./Device/Vendor/MSFT/"
      "Reboot/RebootNow</LocURI></Target></Item></Exec><Replace><CmdID>10</CmdID><Item><Data>"
      "]]><![CDATA[ &amp; &#0; \r\n'\"";
  std::vector<Op> ops{MakeOp(Verb::kReplace, "./DevDetail/Ext/Microsoft/DeviceName", "chr", evil,
                             "text/plain</Type><Exec/>")};
  ops[0].uri += "</LocURI><Exec/>";
  const std::string body = wdm::syncml::EncodeOps(ops, false);
  std::vector<Command> commands;
  std::string error;
  CHECK(wdm::syncml::ParseRequest(body, &commands, &error));
  if (!CHECK_EQ(commands.size(), std::size_t{1})) return;
  const Command& cmd = commands[0];
  CHECK_EQ(cmd.name, std::string("Replace"));
  CHECK(cmd.children.empty());
  if (!CHECK_EQ(cmd.items.size(), std::size_t{1})) return;
  CHECK(cmd.items[0].data == evil);
  CHECK(cmd.items[0].target == ops[0].uri);
  CHECK(cmd.items[0].meta.type == std::optional<std::string>("text/plain</Type><Exec/>"));
}

void TestEncodeParseRoundTrip() {
  std::vector<Op> ops{
      MakeOp(Verb::kGet, "./DevDetail/SwV"),
      MakeOp(Verb::kAdd, "./Device/Vendor/MSFT/Reboot/Schedule/Single", "chr",
             "2024-01-01T00:00:00"),
      MakeOp(Verb::kReplace, "./Vendor/MSFT/X/a%20b", "xml",
             "<enabled/><data id=\"a\" value=\"b\"/>", "text/xml"),
      MakeOp(Verb::kDelete, "./Device/Vendor/MSFT/Reboot/Schedule/Single"),
      MakeOp(Verb::kExec, "./Device/Vendor/MSFT/Reboot/RebootNow", "", std::string()),
      MakeOp(Verb::kAdd, "./x", "chr", std::string("  lead\ttab\nnl\r\ncr \xE2\x82\xAC ")),
  };
  for (bool atomic : {false, true}) {
    std::vector<Command> commands;
    std::string error;
    CHECK(wdm::syncml::ParseRequest(wdm::syncml::EncodeOps(ops, atomic), &commands, &error));
    const std::vector<Command>* list = &commands;
    if (atomic) {
      if (!CHECK_EQ(commands.size(), std::size_t{1})) continue;
      CHECK_EQ(commands[0].name, std::string("Atomic"));
      CHECK(commands[0].cmd_id == std::optional<std::string>(std::to_string(ops.size() + 1)));
      CHECK(commands[0].items.empty());
      list = &commands[0].children;
    }
    if (!CHECK_EQ(list->size(), ops.size())) continue;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      const Command& cmd = (*list)[i];
      CHECK_EQ(cmd.name, std::string(wdm::syncml::VerbName(ops[i].verb)));
      CHECK(cmd.cmd_id == std::optional<std::string>(std::to_string(i + 1)));
      if (!CHECK_EQ(cmd.items.size(), std::size_t{1})) continue;
      const auto& item = cmd.items[0];
      CHECK(item.target == std::optional<std::string>(ops[i].uri));
      CHECK(!item.source);
      CHECK(item.data == ops[i].data);
      const std::optional<std::string> format =
          ops[i].format.empty() ? std::nullopt : std::optional<std::string>(ops[i].format);
      CHECK(item.meta.format == format);
      std::optional<std::string> type;
      if (!ops[i].type.empty()) {
        type = ops[i].type;
      } else if (ops[i].data) {
        type = "text/plain";
      }
      CHECK(item.meta.type == type);
    }
  }
}

void TestParseRequestForms() {
  std::vector<Command> commands;
  std::string error;
  const std::string full =
      "<?xml version=\"1.0\"?><SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr><VerDTD>1.2</VerDTD>"
      "<Target><LocURI>dev</LocURI></Target></SyncHdr><SyncBody>\n"
      "  <Get><CmdID> 4 </CmdID><Meta><Format xmlns='syncml:metinf'>chr</Format></Meta>"
      "<Item><Target><LocURI>\n ./DevDetail/SwV \n</LocURI></Target></Item>"
      "<Item><Source><LocURI>./s</LocURI></Source><Data><![CDATA[<raw & kept>]]></Data></Item>"
      "</Get>\n"
      "  <Sequence><CmdID>5</CmdID><Atomic><CmdID>6</CmdID><Exec><CmdID>7</CmdID></Exec>"
      "<Item/></Atomic><Alert><CmdID>8</CmdID></Alert></Sequence>\n"
      "  <Bogus><CmdID>9</CmdID><Whatever><CmdID>x</CmdID></Whatever></Bogus>"
      "  <Copy/><Replace><Item><Data><enabled/><data id='a' value='b'/></Data></Item></Replace>\n"
      "  <Final/>\n</SyncBody></SyncML>";
  CHECK(wdm::syncml::ParseRequest(full, &commands, &error));
  if (!CHECK_EQ(commands.size(), std::size_t{5})) return;
  const Command& get = commands[0];
  CHECK(get.cmd_id == std::optional<std::string>("4"));
  CHECK(get.meta.format == std::optional<std::string>("chr"));
  CHECK_EQ(get.items.size(), std::size_t{2});
  CHECK(get.items[0].target == std::optional<std::string>("./DevDetail/SwV"));
  CHECK(!get.items[0].data);
  CHECK(get.items[1].source == std::optional<std::string>("./s"));
  CHECK(get.items[1].data == std::optional<std::string>("<raw & kept>"));
  const Command& seq = commands[1];
  CHECK_EQ(seq.name, std::string("Sequence"));
  if (CHECK_EQ(seq.children.size(), std::size_t{2})) {
    const Command& atomic = seq.children[0];
    CHECK_EQ(atomic.name, std::string("Atomic"));
    if (CHECK_EQ(atomic.children.size(), std::size_t{2})) {
      CHECK_EQ(atomic.children[0].name, std::string("Exec"));
      CHECK(atomic.children[0].items.empty());
      CHECK_EQ(atomic.children[1].name, std::string("Item"));
    }
    CHECK_EQ(seq.children[1].name, std::string("Alert"));
    CHECK(seq.children[1].cmd_id == std::optional<std::string>("8"));
  }
  CHECK_EQ(commands[2].name, std::string("Bogus"));
  CHECK(commands[2].cmd_id == std::optional<std::string>("9"));
  CHECK_EQ(commands[3].name, std::string("Copy"));
  CHECK(!commands[3].cmd_id);
  CHECK(!commands[4].cmd_id);
  if (CHECK_EQ(commands[4].items.size(), std::size_t{1})) {
    CHECK(commands[4].items[0].data ==
          std::optional<std::string>("<enabled/><data id='a' value='b'/>"));
  }

  CHECK(wdm::syncml::ParseRequest("<SyncBody/>", &commands, &error));
  CHECK(commands.empty());
  CHECK(
      wdm::syncml::ParseRequest("<a:SyncBody xmlns:a='x'><a:Get><a:CmdID>1</a:CmdID></a:Get>"
                                "</a:SyncBody>",
                                &commands, &error));
  CHECK(commands.size() == 1 && commands[0].name == "Get");

  const char* bad[] = {
      "<SyncBody>",
      "<SyncBody></SyncBod>",
      "<Get/>",
      "<SyncML><SyncHdr/></SyncML>",
      "<SyncML><SyncBody/><SyncBody/></SyncML>",
      "<SyncML><SyncBody/><Extra/></SyncML>",
      "<SyncML>text<SyncBody/></SyncML>",
      "<SyncBody>text</SyncBody>",
      "<SyncBody><Get><CmdID>1</CmdID><CmdID>2</CmdID></Get></SyncBody>",
      "<SyncBody><Get><CmdID><x/></CmdID></Get></SyncBody>",
      "<SyncBody><Get><Item><Data>a</Data><Data>b</Data></Item></Get></SyncBody>",
      "<SyncBody><Get><Item><Target><LocURI>a</LocURI><LocURI>b</LocURI></Target></Item></Get>"
      "</SyncBody>",
      "<SyncBody><Get><Item>x<Target/></Item></Get></SyncBody>",
      "<SyncBody><Atomic><CmdID>1</CmdID><Get><Meta/><Meta/></Get></Atomic></SyncBody>",
  };
  for (const char* text : bad) {
    error.clear();
    if (!CHECK(!wdm::syncml::ParseRequest(text, &commands, &error))) {
      std::fprintf(stderr, "  accepted: %s\n", text);
    }
    CHECK(!error.empty());
    CHECK(commands.empty());
  }
}

// A response such as the emulator writes, for EncodeOps(ops, atomic).
Response MakeResponse() {
  Response r;
  auto status = [&r](std::string id, std::string ref, std::string cmd, int code) {
    Response::Entry e;
    e.status.cmd_id = std::move(id);
    e.status.cmd_ref = std::move(ref);
    e.status.cmd = std::move(cmd);
    e.status.code = code;
    r.entries.push_back(std::move(e));
  };
  status("2", "1", "Get", 200);
  Response::Entry results;
  results.is_results = true;
  results.results.cmd_id = "3";
  results.results.cmd_ref = "1";
  ResultItem item;
  item.uri = "./DevDetail/SwV";
  item.format = "chr";
  item.type = "text/plain";
  item.data = "10.0 <&> \"q\" 'a' \r\n \xE2\x82\xAC";
  results.results.items.push_back(item);
  ResultItem bare;
  bare.uri = "./a%2Fb";
  results.results.items.push_back(bare);
  r.entries.push_back(results);
  status("4", "2", "Replace", 405);
  status("5", "3", "Exec", 200);
  return r;
}

void TestResponseRoundTrip() {
  const Response response = MakeResponse();
  const std::string xml = wdm::syncml::EncodeResponse(response);
  CHECK(xml.find("<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/"
                 "1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID></SyncHdr><SyncBody>"
                 "<Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd>"
                 "<Data>200</Data></Status>") == 0);
  CHECK(xml.find("<Final/></SyncBody></SyncML>") == xml.size() - 28);
  std::vector<Op> ops{MakeOp(Verb::kGet, "./DevDetail/SwV"),
                      MakeOp(Verb::kReplace, "./DevDetail/SwV", "chr", "x"),
                      MakeOp(Verb::kExec, "./Device/Vendor/MSFT/Reboot/RebootNow")};
  std::vector<OpResult> results;
  std::string error;
  CHECK(wdm::syncml::DecodeOpResults(xml, ops, false, &results, &error));
  CHECK(error.empty());
  if (!CHECK_EQ(results.size(), std::size_t{3})) return;
  CHECK_EQ(results[0].status, 200);
  CHECK_EQ(results[1].status, 405);
  CHECK_EQ(results[2].status, 200);
  CHECK(results[1].items.empty() && results[2].items.empty());
  if (!CHECK_EQ(results[0].items.size(), std::size_t{2})) return;
  const ResultItem& want = response.entries[1].results.items[0];
  CHECK_EQ(results[0].items[0].uri, want.uri);
  CHECK(results[0].items[0].format == want.format);
  CHECK(results[0].items[0].type == want.type);
  CHECK(results[0].items[0].data == want.data);
  CHECK_EQ(results[0].items[1].uri, std::string("./a%2Fb"));
  CHECK(!results[0].items[1].format && !results[0].items[1].type && !results[0].items[1].data);
  // The count-only overload gives the same.
  std::vector<OpResult> by_count;
  CHECK(wdm::syncml::DecodeOpResults(xml, 3, false, &by_count, &error));
  CHECK(by_count.size() == 3 && by_count[0].items.size() == 2 && by_count[1].status == 405);
}

// Every proper prefix of a valid response is rejected; only the whole document decodes.
void TestTruncation() {
  Response response = MakeResponse();
  Response::Entry atomic;
  atomic.status.cmd_id = "6";
  atomic.status.cmd_ref = "4";
  atomic.status.cmd = "Atomic";
  atomic.status.code = 200;
  response.entries.insert(response.entries.begin(), atomic);
  const std::string xml = wdm::syncml::EncodeResponse(response);
  int rejected = 0;
  for (std::size_t n = 0; n < xml.size(); ++n) {
    std::vector<OpResult> results;
    std::string error;
    const bool ok =
        wdm::syncml::DecodeOpResults(std::string_view(xml).substr(0, n), 3, true, &results, &error);
    if (!CHECK(!ok)) std::fprintf(stderr, "  prefix of %zu bytes accepted\n", n);
    CHECK(results.empty());
    CHECK(!error.empty());
    rejected += ok ? 0 : 1;
  }
  CHECK_EQ(rejected, static_cast<int>(xml.size()));
  std::vector<OpResult> results;
  std::string error;
  CHECK(wdm::syncml::DecodeOpResults(xml, 3, true, &results, &error));
  CHECK(results.size() == 3 && results[0].items.size() == 2 && results[1].status == 405);

  // The same for requests on the device side.
  const std::string body = wdm::syncml::EncodeOps(
      {MakeOp(Verb::kAdd, "./a", "chr", "v"), MakeOp(Verb::kGet, "./b")}, true);
  for (std::size_t n = 0; n < body.size(); ++n) {
    std::vector<Command> commands;
    CHECK(!wdm::syncml::ParseRequest(std::string_view(body).substr(0, n), &commands, &error));
  }
}

std::string Wrap(const std::string& body) {
  return "<SyncML><SyncBody>" + body + "</SyncBody></SyncML>";
}

std::string St(const std::string& ref, const std::string& code, const std::string& cmd = "") {
  std::string out = "<Status><CmdRef>" + ref + "</CmdRef>";
  if (!cmd.empty()) out += "<Cmd>" + cmd + "</Cmd>";
  return out + "<Data>" + code + "</Data></Status>";
}

void ExpectDecodeError(const std::string& xml, std::size_t op_count, bool atomic,
                       const std::string& fragment, const std::vector<Op>* ops = nullptr) {
  std::vector<OpResult> results;
  std::string error;
  const bool ok = ops != nullptr
                      ? wdm::syncml::DecodeOpResults(xml, *ops, atomic, &results, &error)
                      : wdm::syncml::DecodeOpResults(xml, op_count, atomic, &results, &error);
  if (!CHECK(!ok)) {
    std::fprintf(stderr, "  accepted: %s\n", xml.c_str());
    return;
  }
  CHECK(results.empty());
  if (!CHECK(error.find(fragment) != std::string::npos)) {
    std::fprintf(stderr, "  error was: %s (wanted '%s')\n", error.c_str(), fragment.c_str());
  }
}

void TestDecodeErrors() {
  ExpectDecodeError("<SyncML><SyncBody>", 1, false, "not well-formed");
  ExpectDecodeError("not xml", 1, false, "not well-formed");
  ExpectDecodeError("<SyncBody>" + St("1", "200") + "</SyncBody>", 1, false, "root element");
  ExpectDecodeError("<SyncML><SyncHdr/></SyncML>", 1, false, "missing <SyncBody>");
  ExpectDecodeError("<SyncML><SyncBody/><SyncBody/></SyncML>", 0, false, "more than one");
  ExpectDecodeError("<SyncML><Foo/><SyncBody/></SyncML>", 0, false, "unexpected element");
  ExpectDecodeError(Wrap(""), 1, false, "no <Status> for op 1");
  ExpectDecodeError(Wrap(St("1", "200")), 2, false, "no <Status> for op 2");
  ExpectDecodeError(Wrap(St("1", "200") + St("1", "200")), 1, false, "duplicate <Status>");
  ExpectDecodeError(Wrap(St("1", "2x0")), 1, false, "not a number");
  ExpectDecodeError(Wrap(St("1", "")), 1, false, "not a number");
  ExpectDecodeError(Wrap(St("1", "99")), 1, false, "not a number");
  ExpectDecodeError(Wrap(St("1", "099")), 1, false, "not a number");
  ExpectDecodeError(Wrap(St("1", "600")), 1, false, "not a number");
  ExpectDecodeError(Wrap(St("1", "2000")), 1, false, "not a number");
  ExpectDecodeError(Wrap(St("1", "-200")), 1, false, "not a number");
  ExpectDecodeError(Wrap("<Status><CmdRef>1</CmdRef></Status>"), 1, false, "missing <Data>");
  ExpectDecodeError(Wrap("<Status><Data>200</Data></Status>"), 1, false, "missing <CmdRef>");
  ExpectDecodeError(Wrap(St("x", "200")), 1, false, "not a command number");
  ExpectDecodeError(Wrap(St("", "200")), 1, false, "not a command number");
  ExpectDecodeError(Wrap(St("99999999999", "200")), 1, false, "not a command number");
  ExpectDecodeError(Wrap(St("2", "200")), 1, false, "does not match any command");
  ExpectDecodeError(Wrap(St("1", "200") + St("2", "200")), 1, false, "does not match any command");
  ExpectDecodeError(Wrap(St("1", "200") + St("2", "200") + St("2", "507")), 1, true,
                    "duplicate <Status> for the Atomic");
  ExpectDecodeError(Wrap(St("1", "200") + St("2", "200", "Get")), 1, true, "Atomic's status");
  ExpectDecodeError(Wrap(St("0", "200") + St("0", "200") + St("1", "200")), 1, false,
                    "more than one <Status> for the SyncHdr");
  ExpectDecodeError(Wrap(St("0", "200", "Get") + St("1", "200")), 1, false, "expected SyncHdr");
  ExpectDecodeError(Wrap(St("0", "400", "SyncHdr")), 1, false, "SyncHdr status 400");
  ExpectDecodeError(Wrap(St("0", "400", "SyncHdr")), 0, false, "SyncHdr status 400");
  ExpectDecodeError(Wrap(St("1", "200") + "<Status><CmdRef>1</CmdRef><CmdRef>1</CmdRef><Data>200"
                                          "</Data></Status>"),
                    1, false, "more than one <CmdRef>");
  ExpectDecodeError(Wrap(St("1", "200") + "<Alert/>"), 1, false, "unexpected element");
  ExpectDecodeError(Wrap(St("1", "200") + "text"), 1, false, "unexpected character data");
  ExpectDecodeError(Wrap("<Status><CmdRef>1<x/></CmdRef><Data>200</Data></Status>"), 1, false,
                    "unexpected element inside");
  // Atomic: an op without its own status is an error even when the Atomic failed.
  ExpectDecodeError(Wrap(St("3", "507", "Atomic") + St("1", "405")), 2, true,
                    "no <Status> for op 2");
  // Results.
  const std::string res1 =
      "<Results><CmdRef>1</CmdRef><Item><Source><LocURI>./a</LocURI></Source><Data>v</Data>"
      "</Item></Results>";
  const std::vector<Op> replace{MakeOp(Verb::kReplace, "./a", "chr", "v")};
  ExpectDecodeError(Wrap(St("1", "200") + res1), 1, false, "not a Get", &replace);
  ExpectDecodeError(Wrap(St("1", "200", "Replace") + res1), 1, false, "not a Get");
  ExpectDecodeError(Wrap(St("1", "200", "Get") + res1), 1, false, "expected Replace", &replace);
  ExpectDecodeError(Wrap(St("1", "200") + "<Results><CmdRef>0</CmdRef></Results>"), 1, false,
                    "not a Get");
  ExpectDecodeError(Wrap(St("1", "200") + "<Results><CmdRef>2</CmdRef></Results>"), 1, true,
                    "not a Get");
  ExpectDecodeError(Wrap(St("1", "200") + "<Results><CmdRef>5</CmdRef></Results>"), 1, false,
                    "does not match any command");
  ExpectDecodeError(Wrap(St("1", "200") + "<Results><Item/></Results>"), 1, false,
                    "missing <CmdRef>");
  ExpectDecodeError(Wrap(St("1", "200") + "<Results><CmdRef>1</CmdRef><Item><Data>v</Data></Item>"
                                          "</Results>"),
                    1, false, "without Source/LocURI");
  ExpectDecodeError(Wrap(St("1", "200") + "<Results><CmdRef>1</CmdRef><Item><Source/></Item>"
                                          "</Results>"),
                    1, false, "without Source/LocURI");
}

void TestDecodeAccepts() {
  std::vector<OpResult> results;
  std::string error;
  // Failed Atomic where every op carries its status; Results before Status; prefixes; Target
  // fallback; Results-level Meta; entities and CDATA in Data; xml markup kept raw; Final.
  const std::string xml =
      "<?xml version='1.0' encoding='utf-8'?><s:SyncML xmlns:s='SYNCML:SYNCML1.2'><s:SyncHdr/>"
      "<s:SyncBody>"
      "<s:Results><s:CmdRef>1</s:CmdRef><s:Meta><s:Format>int</s:Format></s:Meta>"
      "<s:Item><s:Target><s:LocURI>./t</s:LocURI></s:Target><s:Data>4&amp;2<![CDATA[<x>]]></s:Data>"
      "</s:Item><s:Item><s:Source><s:LocURI> ./s </s:LocURI></s:Source><s:Target><s:LocURI>./t"
      "</s:LocURI></s:Target><s:Meta><s:Type>text/xml</s:Type></s:Meta>"
      "<s:Data><a x='1'>&amp;</a></s:Data></s:Item></s:Results>" +
      St("0", "200", "SyncHdr") + St("3", "507", "Atomic") + St("1", "200", "Get") +
      "<Status><CmdID>9</CmdID><MsgRef>1</MsgRef><CmdRef> 2 </CmdRef><Cmd>Add</Cmd>"
      "<TargetRef>./u</TargetRef><Data>\n418\n</Data></Status><s:Final/></s:SyncBody></s:SyncML>";
  CHECK(wdm::syncml::DecodeOpResults(xml, 2, true, &results, &error));
  if (!CHECK_EQ(results.size(), std::size_t{2})) {
    std::fprintf(stderr, "  error: %s\n", error.c_str());
    return;
  }
  CHECK_EQ(results[0].status, 200);
  CHECK_EQ(results[1].status, 418);
  if (!CHECK_EQ(results[0].items.size(), std::size_t{2})) return;
  CHECK_EQ(results[0].items[0].uri, std::string("./t"));
  CHECK(results[0].items[0].format == std::optional<std::string>("int"));
  CHECK(!results[0].items[0].type);
  CHECK(results[0].items[0].data == std::optional<std::string>("4&2<x>"));
  CHECK_EQ(results[0].items[1].uri, std::string("./s"));
  CHECK(!results[0].items[1].format);
  CHECK(results[0].items[1].type == std::optional<std::string>("text/xml"));
  CHECK(results[0].items[1].data == std::optional<std::string>("<a x='1'>&amp;</a>"));

  // Zero ops, no SyncHdr status at all.
  CHECK(wdm::syncml::DecodeOpResults("<SyncML><SyncBody/></SyncML>", 0, false, &results, &error));
  CHECK(results.empty());
  // An empty Data is an empty string, a missing one is absent.
  CHECK(wdm::syncml::DecodeOpResults(
      Wrap(St("1", "200") + "<Results><CmdRef>1</CmdRef><Item><Source><LocURI>./a</LocURI>"
                            "</Source><Data/></Item></Results>"),
      1, false, &results, &error));
  CHECK(results.size() == 1 && results[0].items.size() == 1 &&
        results[0].items[0].data == std::optional<std::string>(""));
}

// Mutated responses: DecodeOpResults either fails with a message or returns one well-formed
// result per op; it never crashes (ASan/UBSan watch this).
void TestDecodeFuzz() {
  Response response = MakeResponse();
  Response::Entry atomic;
  atomic.status.cmd_id = "6";
  atomic.status.cmd_ref = "4";
  atomic.status.cmd = "Atomic";
  atomic.status.code = 507;
  response.entries.push_back(atomic);
  const std::string seed = wdm::syncml::EncodeResponse(response);
  const std::string body = wdm::syncml::EncodeOps(
      {MakeOp(Verb::kAdd, "./a", "chr", "v&<"), MakeOp(Verb::kGet, "./b")}, true);
  std::uint32_t state = 777;
  auto next = [&state]() {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
  };
  const std::string pieces[] = {"<",        ">",         "/",        "<Status>", "</Status>",
                                "<CmdRef>", "</CmdRef>", "1",        "2",        "4",
                                "<Data>",   "</Data>",   "200",      "&amp;",    "<Results>",
                                "<Item>",   "</Item>",   "<Final/>", " ",        "&#"};
  int decoded = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text = round % 2 == 0 ? seed : body;
    const int edits = 1 + next() % 3;
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = next() % (text.size() + 1);
      if (next() % 2 == 0) {
        if (pos < text.size()) text.erase(pos, 1 + next() % 8);
      } else {
        text.insert(pos, pieces[next() % (sizeof(pieces) / sizeof(pieces[0]))]);
      }
    }
    if (round % 2 == 0) {
      std::vector<OpResult> results;
      std::string error;
      if (wdm::syncml::DecodeOpResults(text, 3, true, &results, &error)) {
        ++decoded;
        bool sane = results.size() == 3;
        for (const OpResult& r : results) sane = sane && r.status >= 100 && r.status <= 599;
        CHECK(sane);
      } else {
        CHECK(!error.empty() && results.empty());
      }
    } else {
      std::vector<Command> commands;
      std::string error;
      if (!wdm::syncml::ParseRequest(text, &commands, &error)) {
        CHECK(!error.empty() && commands.empty());
      }
    }
  }
  CHECK(decoded > 0);
}

}  // namespace

int main() {
  RUN(TestEscape);
  RUN(TestXmlBasics);
  RUN(TestXmlEntitiesAndCdata);
  RUN(TestXmlRejects);
  RUN(TestXmlLimits);
  RUN(TestXmlOffsetsAndRawInner);
  RUN(TestXmlFuzz);
  RUN(TestEncodeOpsShape);
  RUN(TestInjectionIsData);
  RUN(TestEncodeParseRoundTrip);
  RUN(TestParseRequestForms);
  RUN(TestResponseRoundTrip);
  RUN(TestTruncation);
  RUN(TestDecodeErrors);
  RUN(TestDecodeAccepts);
  RUN(TestDecodeFuzz);
  return wdm::test::Finish("codec_test");
}
