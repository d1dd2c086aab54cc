// The visitor of a std::variant made from lambdas, one per alternative:
//   std::visit(common::Overloaded{[](const A&) {...}, [](const B&) {...}}, v);
#pragma once

namespace bazaar::common {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

}  // namespace bazaar::common
