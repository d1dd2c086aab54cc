#include "frontend/api_types.h"

#include <boost/algorithm/string/predicate.hpp>

namespace bazaar::frontend {

const std::string* ApiRequest::header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (boost::algorithm::iequals(field, name)) return &value;
  }
  return nullptr;
}

}  // namespace bazaar::frontend
