// Verbs on the node tree (see node_ops.h for the status rules).
#include "emulator/node_ops.h"

#include "emulator/behaviors.h"
#include "emulator/uri.h"
#include "emulator/value_check.h"

namespace wdm::emulator {
namespace {

using syncml::ResultItem;
using syncml::Verb;

AccessBit AccessFor(Verb verb) {
  switch (verb) {
    case Verb::kGet:
      return kAccessGet;
    case Verb::kAdd:
      return kAccessAdd;
    case Verb::kReplace:
      return kAccessReplace;
    case Verb::kDelete:
      return kAccessDelete;
    case Verb::kExec:
      return kAccessExec;
  }
  return kAccessGet;
}

std::string JoinChildNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out.push_back('/');
    out.append(EncodeSegment(name));
  }
  return out;
}

// `value`: what a leaf answers (the tree's value, or its behaviour hook's).
ResultItem Describe(std::string uri, const NodeTree& tree, const Path& path, const Instance& node,
                    bool with_data, const std::string& value) {
  ResultItem item;
  item.uri = std::move(uri);
  item.format = FormatName(node.schema->format);
  if (node.schema->is_interior()) {
    if (!node.schema->mime.empty()) item.type = node.schema->mime;
    if (with_data) item.data = JoinChildNames(tree.ChildNames(path));
  } else {
    item.type = node.schema->mime.empty() ? std::string("text/plain") : node.schema->mime;
    if (with_data && node.schema->format != Format::kNull) item.data = value;
  }
  return item;
}

int Get(const NodeUri& uri, const NodeTree& tree, const Instance& node,
        std::vector<ResultItem>* results, Behaviors* behaviors) {
  if (!uri.has_query) {
    std::string value = node.value;
    if (behaviors != nullptr && !node.schema->is_interior()) {
      const int code = behaviors->Get(uri.path, tree, &value);
      if (code != 200) return code;
    }
    results->push_back(Describe(uri.written, tree, uri.path, node, true, value));
    return 200;
  }
  const bool with_data = uri.query == "list=StructData";
  for (const auto& [path, instance] : tree.Subtree(uri.path)) {
    if (!instance->schema->allows(kAccessGet)) continue;
    std::string item_uri = uri.written;
    for (std::size_t i = uri.path.size(); i < path.size(); ++i) {
      item_uri.push_back('/');
      item_uri.append(EncodeSegment(path[i]));
    }
    // Interior nodes of a listing carry no Data; leaves carry their value with StructData (a
    // leaf whose behaviour hook has no value now is left out).
    const bool leaf_data = with_data && !instance->schema->is_interior();
    std::string value = instance->value;
    if (leaf_data && behaviors != nullptr && behaviors->Get(path, tree, &value) != 200) continue;
    results->push_back(Describe(std::move(item_uri), tree, path, *instance, leaf_data, value));
  }
  return 200;
}

// 415 unless the data (and the Meta/Format, when given) fit the node; then 400 unless the data
// is one of the node's allowed values (allowed_values.h).
int CheckValue(const SchemaNode& node, const syncml::Meta& meta, const std::string& data) {
  if (meta.format && *meta.format != FormatName(node.format)) return 415;
  if (node.is_interior()) return 200;  // an interior node's Add carries no value
  if (!IsValidValue(node.format, data)) return 415;
  return node.allowed_values.Accepts(data) ? 200 : 400;
}

int Add(const NodeUri& uri, const Schema& schema, const SchemaNode& node, const syncml::Meta& meta,
        const std::string& data, NodeTree* tree, Behaviors* behaviors) {
  if (tree->Find(uri.path) != nullptr) return 418;
  const int check = CheckValue(node, meta, data);
  if (check != 200) return check;
  std::string value = node.is_interior() ? std::string() : data;
  if (behaviors != nullptr && !node.is_interior()) {
    const int code = behaviors->Write(uri.path, *tree, &value);  // may refuse or rewrite
    if (code != 200) return code;
  }
  // Missing ancestors (all interior by construction of the schema) are created implicitly.
  Path path;
  for (std::size_t i = 0; i + 1 < uri.path.size(); ++i) {
    path.push_back(uri.path[i]);
    if (tree->Find(path) == nullptr) tree->Create(path, *schema.Resolve(path), std::string());
  }
  if (tree->Find(uri.path) != nullptr) {
    tree->SetValue(uri.path, value);  // provided by the CSP along with a new ancestor
  } else {
    tree->Create(uri.path, node, value);
  }
  return 200;
}

}  // namespace

int ApplyItem(Verb verb, const syncml::Item& item, const syncml::Meta& command_meta,
              const Schema& schema, NodeTree* tree, std::vector<ExecRecord>* exec_log,
              std::vector<ResultItem>* results, Behaviors* behaviors) {
  NodeUri uri;
  if (!item.target || !ParseLocUri(*item.target, &uri)) return 400;
  if (uri.has_query) {
    if (verb != Verb::kGet) return 400;
    if (uri.query != "list=Struct" && uri.query != "list=StructData") return 406;
  }
  const SchemaNode* node = schema.Resolve(uri.path);
  if (node == nullptr) return 404;
  if (!node->allows(AccessFor(verb))) return 405;
  const syncml::Meta& meta = item.meta.format || item.meta.type ? item.meta : command_meta;
  const std::string data = item.data.value_or(std::string());
  if (verb == Verb::kAdd) return Add(uri, schema, *node, meta, data, tree, behaviors);
  // Inventory instances (behaviors.h `children`) exist for a Get, a Delete (the `remove` hooks
  // of app inventories) and a Replace of their writable leaves (DiagnosticLog's BlockIndexToRead).
  if ((verb == Verb::kGet || verb == Verb::kDelete || verb == Verb::kReplace) &&
      behaviors != nullptr)
    behaviors->SyncInventories(uri.path, schema, tree);

  const Instance* existing = tree->Find(uri.path);
  const bool hooked_exec =
      verb == Verb::kExec && behaviors != nullptr && behaviors->HasExec(uri.path);
  if (existing == nullptr && !hooked_exec) return 404;
  switch (verb) {
    case Verb::kGet:
      return Get(uri, *tree, *existing, results, behaviors);
    case Verb::kReplace: {
      if (node->is_interior()) return 406;
      std::string value = data;
      int check = CheckValue(*node, meta, data);
      if (check == 200 && behaviors != nullptr) check = behaviors->Write(uri.path, *tree, &value);
      // `existing` is still valid: neither check nor hook can change the tree (const).
      if (check == 200) tree->SetValue(existing, std::move(value));
      return check;
    }
    case Verb::kDelete: {
      if (behaviors != nullptr) {
        const int code = behaviors->Remove(uri.path, *tree);
        if (code != 200) return code;
      }
      tree->Erase(uri.path);
      return 200;
    }
    case Verb::kExec: {
      if (behaviors != nullptr) {
        const int code = behaviors->Exec(uri.path, *tree, item.data);
        if (code != 200) return code;
      }
      exec_log->push_back(ExecRecord{FormatPath(uri.path), item.data});
      return 200;
    }
    case Verb::kAdd:
      break;
  }
  return 500;
}

}  // namespace wdm::emulator
