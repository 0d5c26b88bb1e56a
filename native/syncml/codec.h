// SyncML codec shared by the addon and the CSP emulator library.
//
// Four directions, all pure C++ (no Node-API, no exceptions thrown on bad input):
//   client side: EncodeOps (ops -> <SyncBody>), DecodeOpResults (response -> one result per op)
//   device side: ParseRequest (<SyncBody> or <SyncML> -> commands), EncodeResponse
//   (statuses/results -> <SyncML>)
// Every function that reads XML returns false and fills `error` on malformed, truncated or
// inconsistent input; it never returns a partial or guessed result.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wdm::syncml {

// OMA-DM command verbs that target a node.
enum class Verb { kGet, kAdd, kReplace, kDelete, kExec };

// "Get", "Add", ... (the SyncML element name).
const char* VerbName(Verb verb);
// Parses an element name; returns false for anything that is not one of the five verbs.
bool VerbFromName(std::string_view name, Verb* out);

// ---- client side -------------------------------------------------------------------------------

// One CSP operation as the addon receives it from JS. `format` empty = no <Meta><Format>.
struct Op {
  Verb verb = Verb::kGet;
  std::string uri;
  std::string format;
  std::string type;  // Meta/Type; empty = "text/plain" when data is present, omitted otherwise
  std::optional<std::string> data;
};

// One item of a <Results> element.
struct ResultItem {
  std::string uri;  // Source/LocURI (or Target/LocURI if no Source)
  std::optional<std::string> format;
  std::optional<std::string> type;
  std::optional<std::string> data;  // decoded like Item::data
};

// The outcome of one Op, in request order.
struct OpResult {
  int status = 0;  // OMA-DM status code from the <Status> whose CmdRef is the op's CmdID
  std::vector<ResultItem> items;  // <Results> items whose CmdRef is the op's CmdID (Get only)
};

// Encodes ops as one <SyncBody>. Op i gets CmdID i+1. With atomic, the ops are wrapped in one
// <Atomic> whose CmdID is ops.size()+1. Every LocURI, Format, Type and Data value is XML-escaped.
std::string EncodeOps(const std::vector<Op>& ops, bool atomic);

// Decodes the device's answer to EncodeOps(ops, atomic). Each op must have exactly one <Status>;
// a missing, duplicated or non-numeric status, a Results for an unknown CmdRef, a document that
// is not well formed, or a truncated one makes it return false.
bool DecodeOpResults(std::string_view response, std::size_t op_count, bool atomic,
                     std::vector<OpResult>* out, std::string* error);

// Same, knowing the ops that were sent: additionally fails when a <Status>'s <Cmd> is not the
// op's verb or when <Results> answer an op that is not a Get. Prefer this overload.
bool DecodeOpResults(std::string_view response, const std::vector<Op>& ops, bool atomic,
                     std::vector<OpResult>* out, std::string* error);

// ---- device side (the emulator) -----------------------------------------------------------------

struct Meta {
  std::optional<std::string> format;
  std::optional<std::string> type;
};

struct Item {
  std::optional<std::string> target;  // Target/LocURI
  std::optional<std::string> source;  // Source/LocURI
  Meta meta;
  // Entity-decoded text, CDATA contents kept verbatim; when <Data> contains elements (an
  // unescaped xml value), its raw inner markup as written.
  std::optional<std::string> data;
};

// A command in a request body. `name` is the element name as written (Get, Add, Replace, Delete,
// Exec, Atomic, Sequence, or anything else the device must answer with 400). Atomic and Sequence
// carry their inner commands in `children`.
struct Command {
  std::string name;
  std::optional<std::string> cmd_id;
  Meta meta;  // command-level Meta (applies to items without their own)
  std::vector<Item> items;
  std::vector<Command> children;
};

// Parses a request: either a bare <SyncBody>…</SyncBody> (what ApplyLocalManagementSyncML gets)
// or a full <SyncML><SyncHdr/>…<SyncBody/></SyncML>. <Final/> is accepted and ignored.
bool ParseRequest(std::string_view xml, std::vector<Command>* out, std::string* error);

struct Status {
  std::string cmd_id;
  std::string msg_ref = "1";
  std::string cmd_ref;  // may be empty (e.g. a command without CmdID)
  std::string cmd;      // element name of the command it answers
  std::vector<std::string> target_refs;
  int code = 200;
};

struct Results {
  std::string cmd_id;
  std::string msg_ref = "1";
  std::string cmd_ref;
  std::vector<ResultItem> items;
};

// Statuses and Results in the order the device emitted them.
struct Response {
  struct Entry {
    bool is_results = false;
    Status status;
    Results results;
  };
  std::vector<Entry> entries;
};

// <SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr>…</SyncHdr><SyncBody>…<Final/></SyncBody></SyncML>,
// every value escaped. The body starts with a SyncHdr status (CmdID 1, CmdRef 0, Cmd SyncHdr,
// 200) unless entries[0] already is a Status with cmd_ref "0" (e.g. 400 for a malformed request).
// CmdID/MsgRef are written as given (omitted when empty), so callers number entries from 2.
std::string EncodeResponse(const Response& response);

}  // namespace wdm::syncml
