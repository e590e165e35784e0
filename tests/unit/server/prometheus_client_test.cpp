// The step choice of `leakhunt scan` and the client's errors that need no server.
#include "server/prometheus_client.hpp"

#include <gtest/gtest.h>

#include "util/error.hpp"

namespace leakhunt::server {
namespace {

TEST(ChooseStep, DefaultIsAboutAThousandPoints) {
    EXPECT_EQ(choose_step(7 * 86400, std::nullopt).step_s, 605);
    EXPECT_EQ(choose_step(600, std::nullopt).step_s, 1);
    EXPECT_TRUE(choose_step(7 * 86400, std::nullopt).note.empty());
}

TEST(ChooseStep, KeepsARequestUnderTheLimitAndRaisesOneOver) {
    EXPECT_EQ(choose_step(86400, 60.0).step_s, 60);
    EXPECT_TRUE(choose_step(86400, 60.0).note.empty());
    const StepChoice raised = choose_step(86400, 1.0);
    EXPECT_EQ(raised.step_s, 8);
    EXPECT_EQ(raised.note,
              "--step 1s would ask for 86400 points per series, over Prometheus' limit of 11000; "
              "using --step 8s");
    EXPECT_EQ(choose_step(11000, 1.0).step_s, 1);  // exactly at the limit
}

TEST(QueryRange, RejectsUrlsItCannotUse) {
    RangeQuery q;
    q.query = "up";
    q.url = "ftp://prom:9090";
    EXPECT_THROW(query_range(q), util::UsageError);
    q.url = "prom:9090";
    EXPECT_THROW(query_range(q), util::UsageError);
    q.url = "https://";
    EXPECT_THROW(query_range(q), util::UsageError);
    q.url = "https://127.0.0.1:1";
    q.ca_cert = "/no/such/ca.pem";  // checked before any connection
    EXPECT_THROW(query_range(q), util::UsageError);
}

}  // namespace
}  // namespace leakhunt::server
