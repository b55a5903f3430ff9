// The placement of a cairn cluster: which node owns which aggregate.
//
// Every node of a cluster reads the same cluster file: the nodes (id, host, port) and the number of partitions.
// An aggregate's partition is a stable hash of its type name and id; a partition's owner is chosen by rendezvous
// hashing (the node with the highest score for it), so that adding or removing a node moves only the partitions
// it gains or loses. Every node computes the same map from the same file, with no coordination.
//
// The file (docs/cluster.md): one entry per line, `#` starts a comment, blank lines are ignored.
//   partitions 256
//   node a 127.0.0.1 7101
//   node b 127.0.0.1 7102
//   node c 127.0.0.1 7103
//
//   auto map = cairn::cluster_map::load("cluster.txt");
//   if (!map) { ... map.error().to_string() ... }            // names the line and what is wrong with it
//   auto& owner = map->owner_of("order", "o-1");              // the node that stores order o-1
//
// Thread-safety: a value type; const members may be called from any thread.
#pragma once

#include <cairn/store/result.hpp>

namespace cairn::store {
class event_store;
}

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace cairn {

/// One node of a cluster: its id (1 to 64 bytes of [a-z0-9_.-]) and where its runtime listens.
struct cluster_node {
  std::string id;
  std::string host;
  std::uint16_t port = 0;

  friend bool operator==(const cluster_node&, const cluster_node&) = default;
};

/// The hash that places an aggregate: 64 bits of FNV-1a over `type_name`, a zero byte and `id`, mixed by
/// splitmix64's finaliser. Stable across builds and machines (pinned by tests): stored data depends on it.
std::uint64_t placement_hash(std::string_view type_name, std::string_view id) noexcept;

/// The partitions and their owners, as a cluster file gives them.
class cluster_map {
public:
  /// At most this many partitions (a partition is a unit of ownership, not of storage).
  static constexpr std::uint32_t max_partitions = 65'536;

  /// Reads a cluster file. Errors (invalid_argument, io_error) name the file, the line and what is wrong.
  static store::result<cluster_map> load(const std::filesystem::path& file);
  /// Parses the text of a cluster file; `source` names it in errors.
  static store::result<cluster_map> parse(std::string_view text, std::string_view source = "cluster file");
  /// A map of these nodes and partitions (the checks of parse()).
  static store::result<cluster_map> make(std::vector<cluster_node> nodes, std::uint32_t partitions);

  std::uint32_t partitions() const noexcept {
    return partitions_;
  }

  /// The nodes, sorted by id.
  const std::vector<cluster_node>& nodes() const noexcept {
    return nodes_;
  }

  /// The node with this id, or nullptr.
  const cluster_node* node(std::string_view id) const noexcept;

  /// placement_hash(type_name, id) modulo partitions().
  std::uint32_t partition_of(std::string_view type_name, std::string_view id) const noexcept;

  /// The owner of a partition (< partitions()).
  const cluster_node& owner_of_partition(std::uint32_t partition) const noexcept {
    return nodes_[owners_[partition]];
  }

  /// The node that stores aggregate `id` of type `type_name`.
  const cluster_node& owner_of(std::string_view type_name, std::string_view id) const noexcept {
    return owner_of_partition(partition_of(type_name, id));
  }

  /// The partitions a node owns, ascending (empty for an unknown id).
  std::vector<std::uint32_t> partitions_of(std::string_view node_id) const;

  /// The file's meaning in canonical form (nodes sorted by id, no comments): two maps with the same text place
  /// every aggregate alike.
  std::string to_text() const;

  /// A hash of to_text(): nodes compare it when they connect and refuse a peer whose map differs.
  std::uint64_t fingerprint() const;

  friend bool operator==(const cluster_map& a, const cluster_map& b) {
    return a.partitions_ == b.partitions_ && a.nodes_ == b.nodes_;
  }

private:
  cluster_map(std::vector<cluster_node> nodes, std::uint32_t partitions);

  std::vector<cluster_node> nodes_;
  std::uint32_t partitions_ = 0;
  std::vector<std::uint32_t> owners_; ///< per partition, the index of its owner in nodes_
};

/// Checks that `store` holds only streams of partitions `node_id` owns under `map` (runtime::start() does it for a
/// cluster node). Errors: invalid_argument with the number of foreign streams and one of them, with its partition
/// and owner; the store's own read errors. Reads every stream's head: it takes a while on a large store.
store::status check_store_ownership(const store::event_store& store, const cluster_map& map,
                                    std::string_view node_id);

} // namespace cairn
