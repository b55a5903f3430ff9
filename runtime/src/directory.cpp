#include <cairn/runtime/detail/directory.hpp>

#include <cairn/runtime/detail/messages.hpp>

#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

namespace cairn::detail {

directory::directory(spawn_function spawn, activation_budget& budget)
  : spawn_(std::move(spawn)), budget_(budget) {
}

directory::~directory() {
  shutdown();
}

directory_entry* directory::find_or_activate(shard& s, std::string_view id, bool& activated) {
  if (auto i = s.entries.find(id); i != s.entries.end()) {
    auto* e = &i->second;
    if (s.lru_head != e) {
      lru_unlink(s, e);
      lru_push_front(s, e);
    }
    return e;
  }
  auto pos = s.entries.try_emplace(std::string{id}).first;
  auto* e = &pos->second;
  e->shard = static_cast<std::uint32_t>(&s - shards_.data());
  e->actor = spawn_(pos->first, e);
  lru_push_front(s, e);
  budget_.active.fetch_add(1, std::memory_order_relaxed);
  activated = true;
  return e;
}

bool directory::try_remove(directory_entry* entry, std::string_view id) {
  auto& s = shards_[entry->shard];
  std::lock_guard guard{s.mutex};
  if (entry->retired)
    return true; // shutdown() forgot it already and sent its actor an exit
  if (entry->queued.load(std::memory_order_relaxed) != 0)
    return false;
  lru_unlink(s, entry);
  s.entries.erase(s.entries.find(id));
  budget_.active.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

void directory::enforce_budget(std::size_t start_shard) {
  if (budget_.max_active == 0)
    return;
  auto active = budget_.active.load(std::memory_order_relaxed);
  if (active <= budget_.max_active)
    return;
  // Ask the least recently used instances of the next shards (round robin, starting after the one that grew) to
  // passivate; each stops once idle. Instances already asked are passed over, so that no request is wasted, and
  // each activation asks at most two, so that concurrent activations do not evict far below the budget.
  auto wanted = std::min<std::size_t>(active - budget_.max_active, 2);
  auto first = next_victim_shard_.fetch_add(1, std::memory_order_relaxed) + start_shard;
  for (std::size_t n = 0; n < shard_count && wanted > 0; ++n) {
    auto& s = shards_[(first + n) % shard_count];
    std::lock_guard guard{s.mutex};
    auto* victim = s.lru_tail;
    for (int looked = 0; victim != nullptr && looked < 4; ++looked, victim = victim->lru_prev) {
      if (victim == s.lru_head)
        break; // the one just used stays
      if (!victim->passivation_requested) {
        request_passivation(victim);
        --wanted;
        break;
      }
    }
  }
}

void directory::passivate_idle(std::uint32_t idle_ticks) {
  auto now = tick_.load(std::memory_order_relaxed);
  for (auto& s : shards_) {
    std::lock_guard guard{s.mutex};
    for (auto* e = s.lru_tail; e != nullptr && now - e->last_used_tick >= idle_ticks; e = e->lru_prev)
      if (!e->passivation_requested)
        request_passivation(e);
  }
}

void directory::request_passivation(directory_entry* e) {
  e->passivation_requested = true;
  caf::anon_send(e->actor, passivate_atom::value);
}

std::size_t directory::size() const {
  std::size_t total = 0;
  for (auto& s : shards_) {
    std::lock_guard guard{s.mutex};
    total += s.entries.size();
  }
  return total;
}

void directory::shutdown() {
  for (auto& s : shards_) {
    std::lock_guard guard{s.mutex};
    for (auto& [id, e] : s.entries) {
      caf::anon_send_exit(e.actor, caf::exit_reason::user_shutdown);
      // An actor still finishing a message may call try_remove() or taken() on its entry: keep it alive.
      e.retired = true;
    }
    budget_.active.fetch_sub(s.entries.size(), std::memory_order_relaxed);
    s.retired.push_back(std::move(s.entries)); // moving the map keeps its nodes, and so the entries, in place
    s.entries.clear();
    s.lru_head = s.lru_tail = nullptr;
  }
}

void directory::lru_unlink(shard& s, directory_entry* e) {
  if (e->lru_prev != nullptr)
    e->lru_prev->lru_next = e->lru_next;
  else
    s.lru_head = e->lru_next;
  if (e->lru_next != nullptr)
    e->lru_next->lru_prev = e->lru_prev;
  else
    s.lru_tail = e->lru_prev;
  e->lru_prev = e->lru_next = nullptr;
}

void directory::lru_push_front(shard& s, directory_entry* e) {
  e->lru_prev = nullptr;
  e->lru_next = s.lru_head;
  if (s.lru_head != nullptr)
    s.lru_head->lru_prev = e;
  s.lru_head = e;
  if (s.lru_tail == nullptr)
    s.lru_tail = e;
}

} // namespace cairn::detail
