#include <cairn/runtime/cluster_map.hpp>

#include <cairn/store/event_store.hpp>
#include <cairn/stream_name.hpp>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

namespace cairn {

namespace {

constexpr std::uint64_t fnv_offset = 0xcbf29ce484222325ULL;
constexpr std::uint64_t fnv_prime = 0x100000001b3ULL;

std::uint64_t fnv1a(std::uint64_t h, std::string_view bytes) noexcept {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= fnv_prime;
  }
  return h;
}

std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// A node's rendezvous score for a partition: the highest score owns it.
std::uint64_t rendezvous_score(std::string_view node_id, std::uint32_t partition) noexcept {
  return splitmix64(fnv1a(fnv_offset, node_id) ^ splitmix64(partition));
}

bool valid_node_id(std::string_view id) noexcept {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
}

template <class T>
bool parse_number(std::string_view text, T& out) noexcept {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

store::error invalid(std::string message) {
  return store::error{store::errc::invalid_argument, std::move(message)};
}

std::vector<std::string_view> words_of(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
      ++i;
    auto start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
      ++i;
    if (i > start)
      words.push_back(line.substr(start, i - start));
  }
  return words;
}

} // namespace

std::uint64_t placement_hash(std::string_view type_name, std::string_view id) noexcept {
  auto h = fnv1a(fnv_offset, type_name);
  h = fnv1a(h, std::string_view{"\0", 1});
  return splitmix64(fnv1a(h, id));
}

cluster_map::cluster_map(std::vector<cluster_node> nodes, std::uint32_t partitions)
  : nodes_(std::move(nodes)), partitions_(partitions), owners_(partitions) {
  for (std::uint32_t p = 0; p < partitions_; ++p) {
    std::uint32_t best = 0;
    auto best_score = rendezvous_score(nodes_[0].id, p);
    for (std::uint32_t n = 1; n < nodes_.size(); ++n)
      if (auto score = rendezvous_score(nodes_[n].id, p); score > best_score) {
        best = n;
        best_score = score;
      }
    owners_[p] = best;
  }
}

store::result<cluster_map> cluster_map::make(std::vector<cluster_node> nodes, std::uint32_t partitions) {
  if (partitions == 0 || partitions > max_partitions)
    return invalid("partitions must be 1 to " + std::to_string(max_partitions) + ", got " +
                   std::to_string(partitions));
  if (nodes.empty())
    return invalid("a cluster needs at least one node");
  std::set<std::string> ids;
  std::set<std::pair<std::string, std::uint16_t>> addresses;
  for (const auto& n : nodes) {
    if (!valid_node_id(n.id))
      return invalid("node id \"" + n.id + "\" must be 1 to 64 bytes of a-z, 0-9, '_', '.', '-'");
    if (n.host.empty())
      return invalid("node " + n.id + " has no host");
    if (n.port == 0)
      return invalid("node " + n.id + " has port 0");
    if (!ids.insert(n.id).second)
      return invalid("node id " + n.id + " is listed twice");
    if (!addresses.emplace(n.host, n.port).second)
      return invalid("nodes share the address " + n.host + ":" + std::to_string(n.port) + " (node " + n.id + ")");
  }
  std::sort(nodes.begin(), nodes.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return cluster_map{std::move(nodes), partitions};
}

store::result<cluster_map> cluster_map::parse(std::string_view text, std::string_view source) {
  std::vector<cluster_node> nodes;
  std::uint32_t partitions = 0;
  std::size_t partitions_line = 0;
  std::size_t number = 0;
  std::size_t at = 0;
  auto where = [&] { return std::string{source} + ":" + std::to_string(number) + ": "; };
  while (at <= text.size()) {
    auto end = text.find('\n', at);
    if (end == std::string_view::npos)
      end = text.size();
    auto line = text.substr(at, end - at);
    at = end + 1;
    ++number;
    if (auto hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    auto words = words_of(line);
    if (words.empty())
      continue;
    if (words[0] == "partitions") {
      if (words.size() != 2)
        return invalid(where() + "expected \"partitions N\"");
      if (partitions_line != 0)
        return invalid(where() + "partitions given again (first on line " + std::to_string(partitions_line) + ")");
      if (!parse_number(words[1], partitions) || partitions == 0 || partitions > max_partitions)
        return invalid(where() + "partitions must be a number from 1 to " + std::to_string(max_partitions) +
                       ", got \"" + std::string{words[1]} + "\"");
      partitions_line = number;
    } else if (words[0] == "node") {
      if (words.size() != 4)
        return invalid(where() + "expected \"node ID HOST PORT\"");
      cluster_node n{std::string{words[1]}, std::string{words[2]}, 0};
      if (!parse_number(words[3], n.port) || n.port == 0)
        return invalid(where() + "port must be a number from 1 to 65535, got \"" + std::string{words[3]} + "\"");
      nodes.push_back(std::move(n));
    } else {
      return invalid(where() + "unknown entry \"" + std::string{words[0]} +
                     "\" (a line is \"partitions N\" or \"node ID HOST PORT\")");
    }
    if (end == text.size())
      break;
  }
  if (partitions_line == 0)
    return invalid(std::string{source} + ": no \"partitions N\" line");
  auto map = make(std::move(nodes), partitions);
  if (!map)
    return invalid(std::string{source} + ": " + map.error().message());
  return map;
}

store::result<cluster_map> cluster_map::load(const std::filesystem::path& file) {
  std::ifstream in{file, std::ios::binary};
  if (!in)
    return store::error{store::errc::io_error, "cannot read the cluster file " + file.string()};
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), file.string());
}

const cluster_node* cluster_map::node(std::string_view id) const noexcept {
  for (const auto& n : nodes_)
    if (n.id == id)
      return &n;
  return nullptr;
}

std::uint32_t cluster_map::partition_of(std::string_view type_name, std::string_view id) const noexcept {
  return static_cast<std::uint32_t>(placement_hash(type_name, id) % partitions_);
}

std::vector<std::uint32_t> cluster_map::partitions_of(std::string_view node_id) const {
  std::vector<std::uint32_t> out;
  for (std::uint32_t p = 0; p < partitions_; ++p)
    if (nodes_[owners_[p]].id == node_id)
      out.push_back(p);
  return out;
}

std::string cluster_map::to_text() const {
  std::string text = "partitions " + std::to_string(partitions_) + "\n";
  for (const auto& n : nodes_)
    text += "node " + n.id + " " + n.host + " " + std::to_string(n.port) + "\n";
  return text;
}

std::uint64_t cluster_map::fingerprint() const {
  return splitmix64(fnv1a(fnv_offset, to_text()));
}

store::status check_store_ownership(const store::event_store& store, const cluster_map& map,
                                    std::string_view node_id) {
  std::uint64_t foreign = 0;
  std::string example;
  std::string after;
  for (;;) {
    auto page = store.list_streams(after, 4096);
    if (!page)
      return page.error();
    if (page->empty())
      break;
    for (const auto& head : *page) {
      auto ref = parse_stream_name(head.stream);
      if (!ref) // not an aggregate's stream: not placed
        continue;
      auto partition = map.partition_of(ref->type_name, ref->id);
      const auto& owner = map.owner_of_partition(partition);
      if (owner.id == node_id)
        continue;
      if (foreign++ == 0)
        example = head.stream + " (partition " + std::to_string(partition) + ", owned by node " + owner.id + ")";
    }
    after = page->back().stream;
  }
  if (foreign == 0)
    return store::ok;
  return invalid("the store holds " + std::to_string(foreign) + " stream" + (foreign == 1 ? "" : "s") +
                 " of partitions node " + std::string{node_id} + " does not own under this cluster map, e.g. " +
                 example + ": start it with the map these streams were written under, or move them to their "
                 "owners first (docs/cluster.md, \"Changing membership\")");
}

} // namespace cairn
