#include "broker/last_value_cache.h"

#include "proto_msgs/codec.h"

namespace bazaar::broker {

bool LastValueCache::offer(std::string_view topic, std::string_view payload) {
  if (topic != proto::kTopicLeader) return false;
  auto ann = proto::decode<proto::LeaderAnnouncement>(payload);
  if (!ann) return false;
  if (payload_ && ann->term < term_) return false;
  term_ = ann->term;
  payload_ = std::string(payload);
  return true;
}

std::optional<std::string> LastValueCache::replay_for(std::string_view prefix) const {
  const std::string_view leader = proto::kTopicLeader;
  // A SUB filter is a prefix: "" and "lea" both receive "leader" events.
  if (!payload_ || prefix.size() > leader.size() || leader.substr(0, prefix.size()) != prefix) {
    return std::nullopt;
  }
  return payload_;
}

}  // namespace bazaar::broker
