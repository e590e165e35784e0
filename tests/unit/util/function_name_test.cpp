// Tests for without_parameters: C++ and Go names as profiles carry them.
#include "util/function_name.hpp"

#include <gtest/gtest.h>

namespace leakhunt::util {

TEST(WithoutParameters, CxxNames) {
    EXPECT_EQ(without_parameters("ns::Cache::insert(std::string const&) const"),
              "ns::Cache::insert");
    EXPECT_EQ(without_parameters("std::vector<int, std::allocator<int> >::push_back(int const&)"),
              "std::vector<int, std::allocator<int> >::push_back");
    EXPECT_EQ(without_parameters("(anonymous namespace)::fill(int)"),
              "(anonymous namespace)::fill");
    EXPECT_EQ(without_parameters("a::(anonymous namespace)::fill(int)"),
              "a::(anonymous namespace)::fill");
    EXPECT_EQ(without_parameters("Foo::operator()(int) const"), "Foo::operator()");
    EXPECT_EQ(without_parameters("operator<(A const&, A const&)"), "operator<");
    EXPECT_EQ(without_parameters("Foo::operator->() const"), "Foo::operator->");
    EXPECT_EQ(without_parameters("operator new(unsigned long)"), "operator new");
    EXPECT_EQ(without_parameters("std::function<void (int)>::operator()(int) const"),
              "std::function<void (int)>::operator()");
    EXPECT_EQ(without_parameters("Cache::insert(int)::{lambda()#1}::operator()() const"),
              "Cache::insert");
    EXPECT_EQ(without_parameters("leak_blocks"), "leak_blocks");
    EXPECT_EQ(without_parameters(""), "");
}

TEST(WithoutParameters, GoNamesAreWhole) {
    EXPECT_EQ(without_parameters("main.(*server).handleLookup"), "main.(*server).handleLookup");
    EXPECT_EQ(without_parameters("main.(*server).handleLookup.func2"),
              "main.(*server).handleLookup.func2");
    EXPECT_EQ(without_parameters("net/http.(*conn).serve"), "net/http.(*conn).serve");
    EXPECT_EQ(without_parameters("main.Map[go.shape.func(int)].Get"),
              "main.Map[go.shape.func(int)].Get");
    EXPECT_EQ(without_parameters("main.main.func1"), "main.main.func1");
}

}  // namespace leakhunt::util
