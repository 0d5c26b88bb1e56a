// Tests of the emulated certificate stores (certificates.h): SHA-1 vectors, the DER reader's
// bounds (every truncation and malformed length refused), X.509 facts of a certificate built
// here field by field (no key material: the key and signature bits are filler), base64, and
// the store behaviour through the engine (thumbprint check on Add/Replace, computed Get leaves,
// listing, Delete).
#include <cctype>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "emulator/behaviors.h"
#include "emulator/certificates.h"
#include "emulator/device_host.h"
#include "emulator/engine.h"
#include "emulator/health_attestation.h"
#include "emulator/iso8601.h"
#include "emulator/seed.h"
#include "emulator/sha1.h"
#include "emulator/x509.h"
#include "syncml/codec.h"
#include "test/test_certificate.h"
#include "test/test_ops.h"
#include "test/test_util.h"

namespace {

using wdm::emulator::CertificateFacts;
using wdm::emulator::DerElement;
using wdm::emulator::Engine;
using wdm::emulator::FixedHost;
using wdm::emulator::ParseCertificate;
using wdm::emulator::ReadDer;
using wdm::emulator::Schema;
using wdm::emulator::Sha1Hex;
using wdm::syncml::Op;
using wdm::syncml::OpResult;
using wdm::syncml::Verb;
using wdm::test::BuildCertificate;
using wdm::test::CertSpec;
using wdm::test::Seq;
using wdm::test::Tlv;

// ---- pure helpers

void TestSha1() {
  CHECK_EQ(Sha1Hex(""), std::string("DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"));
  CHECK_EQ(Sha1Hex("abc"), std::string("A9993E364706816ABA3E25717850C26C9CD0D89D"));
  CHECK_EQ(Sha1Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
           std::string("84983E441C3BD26EBAAE4AA1F95129E5E54670F1"));
  // Padding boundaries: 55 (one block), 56 and 63 (two), 64, 65 bytes.
  CHECK_EQ(Sha1Hex(std::string(55, 'a')), std::string("C1C8BBDC22796E28C0E15163D20899B65621D65A"));
  CHECK_EQ(Sha1Hex(std::string(56, 'a')), std::string("C2DB330F6083854C99D4B5BFB6E8F29F201BE699"));
  CHECK_EQ(Sha1Hex(std::string(63, 'a')), std::string("03F09F5B158A7A8CDAD920BDDC29B81C18A551F5"));
  CHECK_EQ(Sha1Hex(std::string(64, 'a')), std::string("0098BA824B5C16427BD7A1122A5A442A25EC644D"));
  CHECK_EQ(Sha1Hex(std::string(65, 'a')), std::string("11655326C708D70319BE2610E8A57D9A5B959D3B"));
  CHECK_EQ(Sha1Hex(std::string(1000000, 'a')),
           std::string("34AA973CD4C4DAA4F61EEB2BDBAD27316534016F"));
}

void TestReadDer() {
  DerElement e;
  const std::string hi("\x04\x02hi", 4);  // outlives the view in `e`
  CHECK(ReadDer(hi, 0, &e));
  CHECK_EQ(e.tag, 0x04);
  CHECK_EQ(std::string(e.content), std::string("hi"));
  CHECK_EQ(e.size, std::size_t{4});
  const std::string long_form = Tlv(0x04, std::string(300, 'x'));
  CHECK(ReadDer(long_form, 0, &e) && e.content.size() == 300 && e.size == long_form.size());
  CHECK(!ReadDer(long_form.substr(0, long_form.size() - 1), 0, &e));       // content cut
  CHECK(!ReadDer(std::string("\x04", 1), 0, &e));                          // no length
  CHECK(!ReadDer(std::string("\x04\x82\x01", 3), 0, &e));                  // length cut
  CHECK(!ReadDer(std::string("\x30\x80\x00\x00", 4), 0, &e));              // indefinite (BER)
  CHECK(!ReadDer(std::string("\x04\x81\x05hello", 8), 0, &e));             // non-minimal length
  CHECK(!ReadDer(std::string("\x04\x82\x00\x05hello", 9), 0, &e));         // leading zero
  CHECK(!ReadDer(std::string("\x04\x85\x01\x00\x00\x00\x00", 7), 0, &e));  // 5 length bytes
  CHECK(!ReadDer(std::string("\x1F\x81\x01\x00", 4), 0, &e));              // high tag number
  CHECK(!ReadDer(std::string("\x04\x7Fx", 3), 0, &e));                     // length past the end
  CHECK(!ReadDer(std::string("\x04\x00", 2), 2, &e));                      // offset at the end
  CHECK(ReadDer(std::string("\x00\x00\x04\x00", 4), 2, &e) && e.size == 2);
}

void TestParseCertificate() {
  CertSpec spec;
  const std::string der = BuildCertificate(spec);
  CertificateFacts facts;
  CHECK(ParseCertificate(der, &facts));
  CHECK_EQ(facts.issued_to, std::string("Contoso Device"));  // BMPString decoded
  CHECK_EQ(facts.issued_by, std::string("Contoso Issuing CA"));
  CHECK_EQ(wdm::emulator::FormatIsoUtc(facts.not_before), std::string("2025-01-02T03:04:05Z"));
  CHECK_EQ(wdm::emulator::FormatIsoUtc(facts.not_after), std::string("2035-06-06T07:08:09Z"));
  CHECK_EQ(facts.template_name, std::string("WebServer"));

  // Every truncation, and a trailing byte, is refused (ASan checks the reads stay in bounds).
  for (std::size_t n = 0; n < der.size(); ++n) CHECK(!ParseCertificate(der.substr(0, n), &facts));
  CHECK(!ParseCertificate(der + '\0', &facts));
  // A corrupted byte anywhere never reads out of bounds (it may still parse: filler bytes).
  for (std::size_t i = 0; i < der.size(); ++i) {
    std::string bad = der;
    bad[i] = static_cast<char>(bad[i] ^ 0xFF);
    CertificateFacts ignored;
    ParseCertificate(bad, &ignored);
  }
  // Not a certificate at all.
  CHECK(!ParseCertificate("", &facts));
  CHECK(!ParseCertificate(Seq(Tlv(0x02, "\x01")), &facts));
  CHECK(!ParseCertificate(Tlv(0x04, der), &facts));

  // No CN: the whole name, most specific first; no template: "". 1950-2049 for UTCTime.
  spec.subject_without_cn = true;
  spec.template_name.clear();
  spec.not_before = "491231235959Z";
  spec.not_after = "500101000000Z";
  CHECK(ParseCertificate(BuildCertificate(spec), &facts));
  CHECK_EQ(facts.issued_to, std::string("O=Fabrikam, C=CH"));
  CHECK_EQ(facts.template_name, std::string(""));
  CHECK_EQ(wdm::emulator::FormatIsoUtc(facts.not_before), std::string("2049-12-31T23:59:59Z"));
  CHECK_EQ(wdm::emulator::FormatIsoUtc(facts.not_after), std::string("1950-01-01T00:00:00Z"));
  // Times outside DER's forms are refused.
  spec.not_before = "2501020304Z";  // no seconds
  CHECK(!ParseCertificate(BuildCertificate(spec), &facts));
  spec.not_before = "251302030405Z";  // month 13
  CHECK(!ParseCertificate(BuildCertificate(spec), &facts));
}

void TestBase64AndCheck() {
  std::string out;
  CHECK(wdm::emulator::Base64Decode("Zm9vYmFy", &out) && out == "foobar");
  CHECK(wdm::emulator::Base64Decode("Zm8=", &out) && out == "fo");
  CHECK(wdm::emulator::Base64Decode("Zg==\r\n", &out) && out == "f");
  CHECK(wdm::emulator::Base64Decode("", &out) && out.empty());
  CHECK(!wdm::emulator::Base64Decode("Zg=", &out));
  CHECK(!wdm::emulator::Base64Decode("Zg==Zg==", &out));
  CHECK(!wdm::emulator::Base64Decode("Z$==", &out));
  CHECK(!wdm::emulator::Base64Decode("Zm9vY", &out));

  const std::string der = BuildCertificate(CertSpec());
  const std::string b64 = wdm::emulator::Base64Encode(der);
  std::string thumb = Sha1Hex(der);
  CHECK_EQ(wdm::emulator::CheckEncodedCertificate(b64, thumb), std::string());
  for (char& c : thumb) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  CHECK_EQ(wdm::emulator::CheckEncodedCertificate(b64, thumb), std::string());
  CHECK(!wdm::emulator::CheckEncodedCertificate(b64, std::string(40, 'A')).empty());
  CHECK(!wdm::emulator::CheckEncodedCertificate(wdm::emulator::Base64Encode("not a cert"),
                                                Sha1Hex("not a cert"))
             .empty());
  CHECK(!wdm::emulator::CheckEncodedCertificate("%%%", thumb).empty());
}

// ---- through the engine

using wdm::test::MakeOp;

struct Device {
  std::unique_ptr<Schema> schema;
  std::unique_ptr<Engine> engine;

  Device() {
    std::string error;
    if (!CHECK(wdm::emulator::BuildSeedSchema(&schema, &error))) std::abort();
    engine = std::make_unique<Engine>(*schema, std::make_unique<FixedHost>());
  }
  OpResult Run(const Op& op) {
    const std::string response = engine->HandleRequest(wdm::syncml::EncodeOps({op}, false));
    std::vector<OpResult> results;
    std::string error;
    if (!CHECK(wdm::syncml::DecodeOpResults(response, {op}, false, &results, &error)) ||
        results.size() != 1) {
      return OpResult();
    }
    return results[0];
  }
  int Status(const Op& op) { return Run(op).status; }
  std::string Value(const std::string& uri) {
    const OpResult r = Run(MakeOp(Verb::kGet, uri));
    if (r.status != 200) return "<status " + std::to_string(r.status) + ">";
    return r.items.size() == 1 ? r.items[0].data.value_or("<no data>") : "<items>";
  }
};

void TestStoreBehaviour() {
  Device d;
  const std::string der = BuildCertificate(CertSpec());
  const std::string b64 = wdm::emulator::Base64Encode(der);
  const std::string thumb = Sha1Hex(der);
  for (const std::string store : {"./Device/Vendor/MSFT/RootCATrustedCertificates/Root",
                                  "./Vendor/MSFT/CertificateStore/MY/User",
                                  "./User/Vendor/MSFT/RootCATrustedCertificates/CA"}) {
    const std::string node = store + "/" + thumb;
    // Wrong name, not a certificate, not base64: refused, nothing stored.
    CHECK_EQ(d.Status(MakeOp(Verb::kAdd, store + "/" + std::string(40, 'A') + "/EncodedCertificate",
                             "b64", b64)),
             400);
    CHECK_EQ(d.Status(MakeOp(Verb::kAdd, node + "/EncodedCertificate", "b64",
                             wdm::emulator::Base64Encode("junk"))),
             400);
    CHECK_EQ(d.Status(MakeOp(Verb::kGet, node)), 404);
    CHECK_EQ(d.Value(store), std::string(""));
    // The right one, named in lower case here: stored, listed, facts computed.
    std::string lower = thumb;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string lower_node = store + "/" + lower;
    CHECK_EQ(d.Status(MakeOp(Verb::kAdd, lower_node + "/EncodedCertificate", "b64", b64)), 200);
    CHECK_EQ(d.Status(MakeOp(Verb::kAdd, lower_node + "/EncodedCertificate", "b64", b64)), 418);
    CHECK_EQ(d.Status(MakeOp(Verb::kReplace, lower_node + "/EncodedCertificate", "b64", b64)), 200);
    CHECK_EQ(d.Status(MakeOp(Verb::kReplace, lower_node + "/EncodedCertificate", "b64",
                             wdm::emulator::Base64Encode(BuildCertificate(CertSpec{"Other"})))),
             400);
    CHECK_EQ(d.Value(store), lower);
    CHECK_EQ(d.Value(lower_node + "/EncodedCertificate"), b64);
    CHECK_EQ(d.Value(lower_node + "/IssuedTo"), std::string("Contoso Device"));
    CHECK_EQ(d.Value(lower_node + "/IssuedBy"), std::string("Contoso Issuing CA"));
    CHECK_EQ(d.Value(lower_node + "/ValidFrom"), std::string("2025-01-02T03:04:05Z"));
    CHECK_EQ(d.Value(lower_node + "/ValidTo"), std::string("2035-06-06T07:08:09Z"));
    CHECK_EQ(d.Value(lower_node + "/TemplateName"), std::string("WebServer"));
    CHECK_EQ(d.Status(MakeOp(Verb::kReplace, lower_node + "/IssuedTo", "chr", "x")), 405);
    // A StructData listing carries the computed values too.
    const OpResult list = d.Run(MakeOp(Verb::kGet, lower_node + "?list=StructData"));
    bool saw = false;
    for (const auto& item : list.items) {
      if (item.uri == lower_node + "/ValidTo")
        saw = item.data == std::string("2035-06-06T07:08:09Z");
    }
    CHECK(saw);
    CHECK_EQ(d.Status(MakeOp(Verb::kDelete, lower_node)), 200);
    CHECK_EQ(d.Status(MakeOp(Verb::kGet, lower_node + "/IssuedTo")), 404);
    CHECK_EQ(d.Value(store), std::string(""));
  }
}

}  // namespace

int main() {
  RUN(TestSha1);
  RUN(TestReadDer);
  RUN(TestParseCertificate);
  RUN(TestBase64AndCheck);
  RUN(TestStoreBehaviour);
  return wdm::test::Finish("certificates_test");
}
