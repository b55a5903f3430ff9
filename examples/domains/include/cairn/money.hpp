// Money in integer minor units (cents), never floating point.
//
// Thread-safety: a value type; const access from many threads is safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cairn {

/// An amount of money in minor units (1.00 == 100). Arithmetic that would overflow is reported, not wrapped.
struct money {
  std::int64_t minor_units = 0;

  static constexpr money from_minor(std::int64_t units) noexcept {
    return money{units};
  }

  friend constexpr auto operator<=>(const money&, const money&) = default;

  /// "12.50", "-0.05": two decimal places, no currency symbol.
  std::string to_string() const;

  /// Parses "12", "12.5", "12.50" (and a leading '-'); nullopt for anything else or an amount that overflows.
  static std::optional<money> parse(std::string_view text);
};

/// a + b, or nullopt on overflow.
std::optional<money> checked_add(money a, money b) noexcept;

/// a * n, or nullopt on overflow.
std::optional<money> checked_mul(money a, std::int64_t n) noexcept;

template <class Inspector>
auto inspect(Inspector& f, money& x) {
  return f(x.minor_units);
}

} // namespace cairn
