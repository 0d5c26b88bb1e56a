// DiagnosticLog CSP (ETW collectors and their log download), emulated: registered by
// RegisterDiagnosticLogBehaviors (behaviors.h), state in BehaviorState::diagnostic_log, i.e. the
// persisted `events` member "diagnosticLog":
//   {"collectors": {"<c>": {"running": true, "runs": 2, "started": <Unix s>, "stopped": <Unix s>,
//                           "providers": "<GUID>:<level>:<keywords>:<state>;..."}},
//    "download":   {"<c>": {"blockSizeKB": 4, "blockIndex": 0}},
//    "controls":   [{"collector": "<c>", "command": "START"|"STOP", "time": "...Z"}, ...]}
//   (controls: oldest first, the last kMaxControls). State is kept by collector name: deleting a
//   collector node does not reset it.
//
// Nodes (./Device/Vendor/MSFT/DiagnosticLog/..., formats and access from the DDF):
//   EtwLog/Collectors/<c>/TraceControl (chr, Exec)  "START" starts the collector's emulated trace
//                    session (running, start time now, runs + 1), "STOP" stops it (stop time now;
//                    the providers of the collector at that moment are kept for its log).
//                    START while running and STOP while stopped change nothing (200). Anything
//                    else answers 400. Every accepted Exec is appended to "controls".
//   EtwLog/Collectors/<c>/TraceStatus (int, Get)  1 while running, else 0 (the DDF's values).
//   FileDownload/DMChannel (node)  its instances are the collectors stopped at least once (the
//                    log of their last session), made to match before every Get or Replace that
//                    reaches them and dropped after the request (never persisted).
//   FileDownload/DMChannel/<c>/BlockSizeKB (int, Get/Replace)  default 4; 1 to 16 (the DDF's
//   range), else 400;
//                    a new size (and a new STOP) sets BlockIndexToRead back to 0.
//   FileDownload/DMChannel/<c>/BlockIndexToRead (int, Get/Replace)  default 0; 0 to
//                    BlockCount - 1, else 400.
//   FileDownload/DMChannel/<c>/BlockCount (int, Get)  ceil(log size / block size).
//   FileDownload/DMChannel/<c>/BlockData (b64, Get)  base64 of block BlockIndexToRead.
//   (DataBlocks/<n> is not emulated: it has no instances.)
//
// THE LOG IS NOT A REAL ETL FILE: it is a deterministic text, clearly marked ("EMULATED ETL"),
// derived from the collector name, its providers and its start/stop times (EmulatedLog), long
// enough to span several 4 KiB blocks. Same inputs -> same bytes.
#pragma once

#include <cstdint>
#include <string>

namespace wdm::emulator {

constexpr std::size_t kMaxControls = 100;
constexpr int kDefaultBlockSizeKB = 4;
constexpr int kMaxBlockSizeKB = 16;

// The emulated log content of a stopped session (exposed for tests).
std::string EmulatedLog(const std::string& collector, const std::string& providers,
                        std::int64_t started, std::int64_t stopped);

}  // namespace wdm::emulator
