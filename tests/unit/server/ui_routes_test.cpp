// Tests for the live UI's helpers: query values are percent-encoded so that a target key such
// as "name:^api" or a hostile process name cannot change the link it is put into.
#include "server/ui_routes.hpp"

#include <gtest/gtest.h>

namespace leakhunt::server {
namespace {

TEST(UiRoutes, UrlEncodeKeepsUnreservedAndEncodesTheRest) {
    EXPECT_EQ(url_encode("pid:4242"), "pid%3A4242");
    EXPECT_EQ(url_encode("name:^api$"), "name%3A%5Eapi%24");
    EXPECT_EQ(url_encode("a-b_c.d~e"), "a-b_c.d~e");
    EXPECT_EQ(url_encode("x&y=z #\"<>"), "x%26y%3Dz%20%23%22%3C%3E");
    EXPECT_EQ(url_encode("\xC3\xA9"), "%C3%A9");
    EXPECT_EQ(url_encode(""), "");
}

}  // namespace
}  // namespace leakhunt::server
