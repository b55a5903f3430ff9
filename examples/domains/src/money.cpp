#include <cairn/money.hpp>

#include <limits>

namespace cairn {

namespace {

bool all_digits(std::string_view text) noexcept {
  for (char c : text)
    if (c < '0' || c > '9')
      return false;
  return true;
}

} // namespace

std::string money::to_string() const {
  // Negating in unsigned arithmetic keeps INT64_MIN representable.
  const auto magnitude = minor_units < 0 ? 0 - static_cast<std::uint64_t>(minor_units)
                                         : static_cast<std::uint64_t>(minor_units);
  std::string text = minor_units < 0 ? "-" : "";
  text += std::to_string(magnitude / 100);
  text += '.';
  text += static_cast<char>('0' + magnitude % 100 / 10);
  text += static_cast<char>('0' + magnitude % 10);
  return text;
}

std::optional<money> money::parse(std::string_view text) {
  const bool negative = !text.empty() && text.front() == '-';
  if (negative)
    text.remove_prefix(1);
  const auto dot = text.find('.');
  const auto whole = text.substr(0, dot);
  const auto fraction = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty() || !all_digits(whole) || !all_digits(fraction))
    return std::nullopt;
  if (dot != std::string_view::npos && (fraction.empty() || fraction.size() > 2))
    return std::nullopt;

  // The magnitude may reach 2^63 only when negative (INT64_MIN has no positive counterpart).
  const std::uint64_t limit =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + (negative ? 1 : 0);
  std::uint64_t units = 0;
  auto push_digit = [&](char c) {
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (units > (limit - digit) / 10)
      return false;
    units = units * 10 + digit;
    return true;
  };
  for (char c : whole)
    if (!push_digit(c))
      return std::nullopt;
  for (std::size_t i = 0; i < 2; ++i)
    if (!push_digit(i < fraction.size() ? fraction[i] : '0'))
      return std::nullopt;
  return money::from_minor(negative ? static_cast<std::int64_t>(0 - units) : static_cast<std::int64_t>(units));
}

std::optional<money> checked_add(money a, money b) noexcept {
  std::int64_t sum = 0;
  if (__builtin_add_overflow(a.minor_units, b.minor_units, &sum))
    return std::nullopt;
  return money::from_minor(sum);
}

std::optional<money> checked_mul(money a, std::int64_t n) noexcept {
  std::int64_t product = 0;
  if (__builtin_mul_overflow(a.minor_units, n, &product))
    return std::nullopt;
  return money::from_minor(product);
}

} // namespace cairn
