// One verb applied to one <Item> of a command: the OMA-DM status the emulator answers and, for a
// successful Get, the <Results> items. Command structure (CmdID, Atomic, Sequence) is engine.cc's.
//
// Status rules (in the order they are checked):
//   400  no Target/LocURI, a malformed LocURI, or a ?query on a verb other than Get
//   406  a Get with a query other than list=Struct / list=StructData
//   404  the URI matches no node of the schema
//   405  the verb is not in the node's access set (Add/Delete/Exec/Get/Replace)
//   404  Get/Replace/Delete/Exec of a node that does not exist (e.g. a policy never Added)
//   418  Add of a node that exists
//   415  Add/Replace whose Meta/Format differs from the node's format (when given) or whose data
//        does not fit it (see value_check.h); missing Data counts as ""
//   400  Add/Replace whose data is outside the node's MSFT:AllowedValues (Range, ENUM, RegEx;
//        see allowed_values.h)
//   406  Replace of an interior node
//   200  otherwise. Add creates missing interior ancestors (e.g. a dynamic <x> instance) and the
//        CSP-provided nodes under each new interior node. Delete removes the subtree. Exec
//        appends {canonical URI, data} to the exec log.
// Behaviour hooks (behaviors.h), when `behaviors` is given: a Get of a leaf answers the hook's
// computed value (or its status, e.g. 404), a ?list=StructData leaves out leaves without one, and
// a Get first brings host inventories (dynamic instances) up to date; an Add/Replace that passed
// the checks above may still be refused by its hook (400) or stored rewritten; an Exec runs its
// hook (staged effects only) before it is logged, and a hook's failure status is answered.
// Get of a leaf returns one item (Format, Type = DFType MIME or text/plain, Data; no Data for a
// null-format node); Get of an interior node returns Format node and Data = its child names,
// %-encoded, '/'-separated. ?list=StructData returns one item per node of the subtree that has
// Get access (leaves with Data, interior nodes without); ?list=Struct the same without Data.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "emulator/node_tree.h"
#include "syncml/codec.h"

namespace wdm::emulator {

class Behaviors;

struct ExecRecord {
  std::string uri;  // canonical: FormatPath of the decoded path ("./Device/Vendor/MSFT/...")
  std::optional<std::string> data;
};

// `command_meta` applies when the item has no Meta of its own.
int ApplyItem(syncml::Verb verb, const syncml::Item& item, const syncml::Meta& command_meta,
              const Schema& schema, NodeTree* tree, std::vector<ExecRecord>* exec_log,
              std::vector<syncml::ResultItem>* results, Behaviors* behaviors = nullptr);

}  // namespace wdm::emulator
