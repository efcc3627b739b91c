// Reading Redis's flat [field, value, field, value, ...] arrays: a stream entry's fields, and
// what XINFO answers about groups and consumers.
#pragma once

#include <optional>
#include <string_view>

#include "queue/redis_connection.h"

namespace rexec {

// The value of field `name`, or nullopt when there is none.
std::optional<RedisValue> FieldValue(RedisValue fields, std::string_view name);

// The string value of field `name` (empty for a value that is not a string).
std::optional<std::string_view> Field(RedisValue fields, std::string_view name);

// `fallback` when the field is missing or not an integer (XINFO answers nil for what it cannot
// tell).
long long IntegerField(RedisValue fields, std::string_view name, long long fallback);

}  // namespace rexec
