#include <cairn/runtime/detail/committer.hpp>

#include <cairn/runtime/command_result.hpp>
#include <cairn/runtime/detail/messages.hpp>

#include <caf/send.hpp>

#include <algorithm>

namespace cairn::detail {

namespace {

/// The command's error for a store's refusal. A request the store refuses as such (too large, malformed) is the
/// client's error and fails the same way every time: invalid_argument, never storage_failure (which says "try
/// again": policies and process managers would resend it forever). The message keeps the store's code.
command_errc command_code(store::errc code) noexcept {
  switch (code) {
    case store::errc::conflict:
    case store::errc::duplicate:
      return command_errc::conflict;
    case store::errc::too_large:
    case store::errc::invalid_argument:
      return command_errc::invalid_argument;
    default:
      return command_errc::storage_failure;
  }
}

command_result to_command_result(const store::result<store::append_receipt>& r) {
  if (r) {
    command_result ok;
    ok.version = r->new_version;
    ok.first_position = r->first_position;
    ok.last_position = r->last_position;
    return ok;
  }
  return command_result::failure(command_code(r.error().code()), r.error().to_string());
}

/// The first answer to an idempotent command, from the causation record the store found for it.
command_result first_answer(const store::append_request& request, const store::causation_record& prior) {
  const auto& cause = *request.causation;
  command_result r;
  if (prior.sequence > cause.sequence)
    r = command_result::failure(command_errc::rejected, "superseded: " + request.stream + " has handled " +
                                                          cause.source + " #" + std::to_string(prior.sequence) +
                                                          " after #" + std::to_string(cause.sequence));
  else if (!prior.accepted)
    r = command_result::failure(command_errc::rejected, prior.message);
  r.version = prior.version;
  return r;
}

} // namespace

committer::committer(store::event_store& store, router& feed, std::size_t max_batch, bool threaded)
  : store_(store), feed_(feed), max_batch_(std::max<std::size_t>(max_batch, 1)) {
  if (threaded)
    thread_ = std::thread{[this] { work(); }};
}

committer::~committer() {
  stop();
}

void committer::submit(store::append_request request, caf::actor reply_to) {
  bool was_empty;
  {
    std::unique_lock lock{mutex_};
    if (stopped_) {
      // Nobody would write it; keeping the handle would also keep its actor alive past the actor system's end.
      lock.unlock();
      caf::anon_send(reply_to, committed_atom::value,
                     command_result::failure(command_errc::shutting_down, "the committer has stopped"));
      return;
    }
    was_empty = queued_requests_.empty();
    queued_requests_.push_back(std::move(request));
    queued_reply_to_.push_back(std::move(reply_to));
  }
  if (was_empty)
    wake_.notify_one();
}

std::size_t committer::run_once() {
  std::vector<store::append_request> requests;
  std::vector<caf::actor> reply_to;
  {
    std::lock_guard guard{mutex_};
    requests.swap(queued_requests_);
    reply_to.swap(queued_reply_to_);
  }
  return write_batch(requests, reply_to);
}

void committer::stop() {
  {
    std::lock_guard guard{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable())
    thread_.join();
  run_once();
  std::lock_guard guard{mutex_};
  stopped_ = true;
}

committer_stats committer::stats() const {
  std::lock_guard guard{mutex_};
  return stats_;
}

void committer::work() {
  std::vector<store::append_request> requests;
  std::vector<caf::actor> reply_to;
  for (;;) {
    {
      std::unique_lock lock{mutex_};
      wake_.wait(lock, [this] { return stopping_ || !queued_requests_.empty(); });
      if (queued_requests_.empty())
        return;
      // Swapping keeps both vectors' capacity alive between rounds: no allocation per batch at steady state.
      requests.swap(queued_requests_);
      reply_to.swap(queued_reply_to_);
    }
    write_batch(requests, reply_to);
    requests.clear();
    reply_to.clear();
  }
}

std::size_t committer::write_batch(std::vector<store::append_request>& requests,
                                   std::vector<caf::actor>& reply_to) {
  for (std::size_t begin = 0; begin < requests.size(); begin += max_batch_) {
    auto count = std::min(max_batch_, requests.size() - begin);
    // The store checks idempotency once, in the append: a repeat comes back with its first answer, which the
    // instance gives again without reloading (nothing was written, its stream did not move).
    auto results = store_.group_append(std::span{requests}.subspan(begin, count), priors_);
    for (std::size_t i = 0; i < count; ++i) {
      const auto& request = requests[begin + i];
      if (!results[i] && results[i].error().code() == store::errc::duplicate && i < priors_.size() && priors_[i] &&
          request.causation)
        caf::anon_send(reply_to[begin + i], duplicate_atom::value, first_answer(request, *priors_[i]));
      else
        caf::anon_send(reply_to[begin + i], committed_atom::value, to_command_result(results[i]));
    }
    if (feed_.has_routes())
      publish(std::span{requests}.subspan(begin, count), results);
    std::lock_guard guard{mutex_};
    ++stats_.batches;
    stats_.appends += count;
    stats_.largest_batch = std::max<std::uint64_t>(stats_.largest_batch, count);
  }
  return requests.size();
}

void committer::publish(std::span<store::append_request> requests,
                        const std::vector<store::result<store::append_receipt>>& results) {
  auto batch = std::make_shared<std::vector<store::stored_event>>();
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (!results[i] || requests[i].events.empty())
      continue;
    auto& events = requests[i].events;
    auto first_version = results[i]->new_version - events.size() + 1;
    for (std::size_t k = 0; k < events.size(); ++k)
      // The requests are spent once written: their events move on instead of being copied.
      batch->push_back(store::stored_event{requests[i].stream, first_version + k, results[i]->first_position + k,
                                           std::move(events[k])});
  }
  feed_.publish(batch);
}

} // namespace cairn::detail
