// The certificate stores of the RootCATrustedCertificates and CertificateStore CSPs, emulated:
// registered by RegisterCertificateBehaviors (behaviors.h). No state of their own: a certificate
// is its node `<store>/<thumbprint>` in the tree, holding EncodedCertificate.
//
//   <store>/<x>/EncodedCertificate (b64, Add/Replace)  must decode to a DER X.509 certificate
//                (x509.h) whose SHA-1 is <x> (hex, any case), as Windows names certificates by
//                their thumbprint; anything else is refused with 400, nothing stored.
//   <store>/<x>/IssuedBy, IssuedTo (chr, Get)  the issuer's / subject's CN, else the whole name
//                ("O=..., C=...").
//   <store>/<x>/ValidFrom, ValidTo (chr, Get)  NotBefore / NotAfter as ISO 8601 UTC
//                ("2025-01-02T03:04:05Z").
//   <store>/<x>/TemplateName (chr, Get)  the certificate template name extension
//                (1.3.6.1.4.1.311.20.2), "" when the certificate has none.
// The four Get leaves are computed from the stored EncodedCertificate (404 when it is missing
// or unreadable). Stores: every store of both DDFs that holds certificates (device and user
// RootCATrustedCertificates stores; CertificateStore ROOT, ROOT/System, CA, CA/System, MY/User).
#pragma once

#include <string>
#include <string_view>

namespace wdm::emulator {

// The check of an EncodedCertificate write: "" when `base64` is a DER certificate whose SHA-1 is
// `thumbprint` (any case), else why not (exposed for tests).
std::string CheckEncodedCertificate(std::string_view base64, std::string_view thumbprint);

}  // namespace wdm::emulator
