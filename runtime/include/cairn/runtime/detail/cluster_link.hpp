// A node's links to the other nodes of its cluster, over CAF's middleman (BASP): its endpoint, published on the
// node's port, serves the commands other nodes forward to it; a connector thread keeps a handle on every peer's
// endpoint (retrying while a peer is down); the forwarder actor sends commands to their owners and answers
// `unavailable` when the owner is not connected, or goes down while a command is on its way (outcome unknown).
//
// Everything on the wire is CAF's built-in types (atoms, strings, integers): the command itself travels in
// cairn's binary encoding, made and read by the aggregate's type binding, so no message type needs registering.
#pragma once

#include <cairn/runtime/cluster_map.hpp>
#include <cairn/runtime/command_result.hpp>
#include <cairn/runtime/type_binding.hpp>

#include <caf/actor.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace caf {
class actor_system;
}

namespace cairn::detail {

/// A command as it travels between nodes.
struct forwarded_command {
  std::string type_name;
  std::string id;
  std::string command; ///< encoded by the type binding
  std::optional<causation> cause;
  std::uint64_t expected_version = binding::any_version;
};

class cluster_link {
public:
  /// Runs a command forwarded to this node (it owns the aggregate); `done` gets its answer.
  using serve_function = std::function<void(forwarded_command, binding::result_callback done)>;

  cluster_link(caf::actor_system& sys, const cluster_map& map, std::string self_id,
               std::chrono::milliseconds command_timeout, serve_function serve);
  ~cluster_link();
  cluster_link(const cluster_link&) = delete;
  cluster_link& operator=(const cluster_link&) = delete;

  /// Publishes the endpoint on this node's address and starts connecting to the peers.
  store::status start();
  /// Stops connecting and the actors.
  void stop();

  /// Sends `command` to `owner`; `done` runs once: the owner's answer, or `unavailable`.
  void forward(const cluster_node& owner, forwarded_command command, binding::result_callback done);

  /// The peers connected now, by id.
  std::vector<std::string> connected_peers() const;

  /// The forwarder saw a peer go down: forget its handle (the connector connects again).
  void peer_down_from_actor(const std::string& node_id);

private:
  void connect_loop();

  caf::actor_system& sys_;
  const cluster_map& map_;
  std::string self_id_;
  std::chrono::milliseconds command_timeout_;
  serve_function serve_;
  caf::actor endpoint_;
  caf::actor forwarder_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::map<std::string, caf::actor> peers_; ///< connected peers' endpoints, by node id
  std::thread connector_;
};

} // namespace cairn::detail
