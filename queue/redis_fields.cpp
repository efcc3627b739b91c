#include "queue/redis_fields.h"

namespace rexec {

std::optional<RedisValue> FieldValue(RedisValue fields, std::string_view name) {
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i].str() == name) return fields[i + 1];
  }
  return std::nullopt;
}

std::optional<std::string_view> Field(RedisValue fields, std::string_view name) {
  std::optional<RedisValue> value = FieldValue(fields, name);
  if (!value.has_value()) return std::nullopt;
  return value->str();
}

long long IntegerField(RedisValue fields, std::string_view name, long long fallback) {
  std::optional<RedisValue> value = FieldValue(fields, name);
  return value.has_value() && value->is_integer() ? value->integer() : fallback;
}

}  // namespace rexec
