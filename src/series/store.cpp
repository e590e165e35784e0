// The SQLite store. Schema version 1 (PRAGMA user_version), marked as ours by PRAGMA
// application_id, in WAL mode so that `leakhunt classify --db` can read while a watch writes.
// Samples live in a WITHOUT ROWID table keyed by (instance_id, t): one B-tree clustered by
// instance, so load_series reads each instance's rows in time order without an extra index and
// without scanning the whole history. The price is paid on insert: a batch with rows of N
// processes dirties about N leaf pages (~5 ms per 500 rows of 500 processes, ~1.4 ms per 500
// rows of 10 processes, measured on a loaded 2-core VM). instances.last_t
// is written at most once per k_last_t_interval per instance (and exactly on end_instance and at
// close), so a batch does not also update N instance rows.
#include "series/store.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <system_error>

#include <fmt/format.h>
#include <sqlite3.h>

#include "util/error.hpp"

namespace leakhunt::series {
namespace {

// "LKHT": marks a database as leakhunt's (PRAGMA application_id).
constexpr int k_application_id = 0x4c4b4854;
constexpr int k_busy_timeout_ms = 5000;
// Seconds of sample time between writes of an instance's last_t.
constexpr double k_last_t_interval = 60.0;

constexpr const char* k_schema = R"sql(
CREATE TABLE targets (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  display TEXT NOT NULL,
  created_at REAL NOT NULL
);
CREATE TABLE instances (
  id INTEGER PRIMARY KEY,
  target_id INTEGER NOT NULL REFERENCES targets(id),
  pid INTEGER NOT NULL,
  starttime INTEGER NOT NULL,
  cmdline TEXT NOT NULL,
  first_t REAL NOT NULL,
  last_t REAL NOT NULL,
  exit_t REAL
);
CREATE INDEX instances_by_target ON instances(target_id, pid, starttime);
CREATE TABLE samples (
  instance_id INTEGER NOT NULL REFERENCES instances(id),
  t REAL NOT NULL,
  rss INTEGER, rss_anon INTEGER, rss_file INTEGER, rss_shmem INTEGER,
  pss INTEGER, uss INTEGER, swap INTEGER, vm_hwm INTEGER,
  fds INTEGER, threads INTEGER,
  cgroup_usage INTEGER, cgroup_working_set INTEGER, cgroup_limit INTEGER, cgroup_oom_kills INTEGER,
  PRIMARY KEY (instance_id, t)
) WITHOUT ROWID;

CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  target_id INTEGER NOT NULL REFERENCES targets(id),
  t REAL NOT NULL,
  kind TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX events_by_target ON events(target_id, t);
)sql";

// Sample columns in table order after (instance_id, t), with their series column names.
struct ValueColumn {
    std::optional<int64_t> SampleRow::*member;
    std::string_view series_name;
};
constexpr ValueColumn k_values[] = {
    {&SampleRow::rss, k_rss},
    {&SampleRow::rss_anon, k_anon},
    {&SampleRow::rss_file, "rss_file_bytes"},
    {&SampleRow::rss_shmem, "rss_shmem_bytes"},
    {&SampleRow::pss, k_pss},
    {&SampleRow::uss, "uss_bytes"},
    {&SampleRow::swap, "swap_bytes"},
    {&SampleRow::vm_hwm, "vm_hwm_bytes"},
    {&SampleRow::fds, k_fds},
    {&SampleRow::threads, k_threads},
    {&SampleRow::cgroup_usage, k_cgroup_usage},
    {&SampleRow::cgroup_working_set, "cgroup_working_set_bytes"},
    {&SampleRow::cgroup_limit, k_cgroup_limit},
    {&SampleRow::cgroup_oom_kills, "cgroup_oom_kills"},
};
constexpr int k_value_count = static_cast<int>(std::size(k_values));

double now_unix() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string text_column(sqlite3_stmt* s, int col) {
    const auto* p = sqlite3_column_text(s, col);
    if (p == nullptr) return "";
    return std::string(reinterpret_cast<const char*>(p),
                       static_cast<size_t>(sqlite3_column_bytes(s, col)));
}

}  // namespace

std::string_view to_string(EventKind kind) {
    switch (kind) {
        case EventKind::start:
            return "start";
        case EventKind::restart:
            return "restart";
        case EventKind::exit:
            return "exit";
        case EventKind::leak:
            return "leak";
        case EventKind::verdict:
            return "verdict";
    }
    return "unknown";
}

std::filesystem::path default_db_path() {
    std::filesystem::path path;
    if (const char* env = std::getenv("LEAKHUNT_DB"); env != nullptr && *env != '\0') {
        path = env;
    } else if (const char* state = std::getenv("XDG_STATE_HOME");
               state != nullptr && *state == '/') {
        path = std::filesystem::path(state) / "leakhunt" / "watch.db";
    } else {
        const char* home = std::getenv("HOME");
        if (home == nullptr || *home == '\0') {
            const passwd* pw = ::getpwuid(::getuid());
            home = pw != nullptr ? pw->pw_dir : nullptr;
        }
        if (home == nullptr) {
            throw util::Error(
                "cannot find a place for the watch database: HOME is not set "
                "(set LEAKHUNT_DB or pass --db FILE)");
        }
        path = std::filesystem::path(home) / ".local" / "state" / "leakhunt" / "watch.db";
    }
    if (path.has_parent_path()) {
        std::error_code ec;
        std::filesystem::create_directories(path.parent_path(), ec);
        if (ec) {
            throw util::Error(
                "cannot create {}: {} (set LEAKHUNT_DB or pass --db FILE with a "
                "writable path)",
                path.parent_path().string(), ec.message());
        }
    }
    return path;
}

void Store::StmtDeleter::operator()(sqlite3_stmt* s) const {
    sqlite3_finalize(s);
}

void Store::fail(std::string_view what, int rc) {
    const char* msg = m_db != nullptr ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
        throw util::Error(
            "{}: {}: the database is locked by another process (wait, or use "
            "another --db file)",
            m_path.string(), what);
    }
    if (rc == SQLITE_FULL) {
        throw util::Error("{}: {}: the disk is full (free some space)", m_path.string(), what);
    }
    // Every SQLite failure reaches the user through here, as one line that says what to do.
    if ((rc & 0xff) == SQLITE_CORRUPT) {
        throw util::Error(
            "{} is damaged ({}: SQLite says \"{}\"): move it away and watch "
            "again, or pass another --db",
            m_path.string(), what, msg);
    }
    throw util::Error("{}: {}: SQLite says \"{}\" (check the file and its directory)",
                      m_path.string(), what, msg);
}

Store::Stmt Store::prepare(std::string_view sql) {
    sqlite3_stmt* s = nullptr;
    const int rc = sqlite3_prepare_v2(m_db, sql.data(), static_cast<int>(sql.size()), &s, nullptr);
    if (rc != SQLITE_OK) fail("cannot prepare a statement", rc);
    return Stmt(s);
}

void Store::exec(const char* sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(m_db, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        const std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        if (rc == SQLITE_NOTADB) {
            throw util::Error(
                "{} is not a leakhunt database: {} (choose another file with --db, "
                "or move this one away)",
                m_path.string(), msg);
        }
        fail("cannot run a statement", rc);
    }
}

Store::Store(const std::filesystem::path& path, OpenMode mode) : m_path(path) {
    if (mode == OpenMode::existing && !std::filesystem::exists(path)) {
        throw util::Error("{} does not exist (record one first with leakhunt watch --db {})",
                          path.string(), path.string());
    }
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                      (mode == OpenMode::create ? SQLITE_OPEN_CREATE : 0);
    const int rc = sqlite3_open_v2(path.c_str(), &m_db, flags, nullptr);
    if (rc != SQLITE_OK) {
        const std::string msg = m_db != nullptr ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
        sqlite3_close(m_db);
        m_db = nullptr;
        throw util::Error(
            "cannot open {}: {} (check that the directory exists and is "
            "writable)",
            path.string(), msg);
    }
    try {
        sqlite3_busy_timeout(m_db, k_busy_timeout_ms);
        check_and_create_schema(mode);
        m_insert_sample = prepare(
            "INSERT OR REPLACE INTO samples VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
            "?12, ?13, ?14, ?15, ?16)");
        m_update_last_t = prepare("UPDATE instances SET last_t = max(last_t, ?2) WHERE id = ?1");
    } catch (...) {
        m_insert_sample.reset();
        m_update_last_t.reset();
        sqlite3_close(m_db);
        m_db = nullptr;
        throw;
    }
}

Store::~Store() {
    try {
        flush_last_t(true);
    } catch (const util::Error&) {
        // Best effort: last_t is a hint; the samples themselves are committed.
    }
    m_insert_sample.reset();
    m_update_last_t.reset();
    if (m_db != nullptr) sqlite3_close(m_db);
}

void Store::check_and_create_schema(OpenMode mode) {
    // The first read of the file: a non-database fails here with SQLITE_NOTADB.
    exec("SELECT count(*) FROM sqlite_master");
    auto int_query = [this](const char* sql) {
        Stmt s = prepare(sql);
        const int rc = sqlite3_step(s.get());
        if (rc != SQLITE_ROW) fail(sql, rc);
        return sqlite3_column_int64(s.get(), 0);
    };
    const auto app_id = int_query("PRAGMA application_id");
    const auto version = int_query("PRAGMA user_version");
    const auto tables = int_query("SELECT count(*) FROM sqlite_master");
    if (app_id == k_application_id) {
        if (version > k_schema_version) {
            throw util::Error(
                "{} was written by a newer leakhunt (schema version {}; this one "
                "knows up to {}) (upgrade leakhunt or use another --db file)",
                m_path.string(), version, k_schema_version);
        }
    } else if (app_id != 0 || tables != 0 || mode == OpenMode::existing) {
        throw util::Error(
            "{} is not a leakhunt database (it is a SQLite database with {} "
            "schema objects of another application) (choose another file with "
            "--db)",
            m_path.string(), tables);
    }
    exec("PRAGMA journal_mode = WAL");
    exec("PRAGMA synchronous = NORMAL");
    exec("PRAGMA foreign_keys = ON");
    if (app_id == 0) {
        exec("BEGIN IMMEDIATE");
        try {
            exec(k_schema);
            exec(fmt::format("PRAGMA application_id = {}", k_application_id).c_str());
            exec(fmt::format("PRAGMA user_version = {}", k_schema_version).c_str());
            exec("COMMIT");
        } catch (...) {
            sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    }
}

std::optional<int64_t> Store::find_target(std::string_view key) {
    Stmt s = prepare("SELECT id FROM targets WHERE key = ?1");
    sqlite3_bind_text(s.get(), 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
    const int rc = sqlite3_step(s.get());
    if (rc == SQLITE_ROW) return sqlite3_column_int64(s.get(), 0);
    if (rc != SQLITE_DONE) fail("cannot look up a target", rc);
    return std::nullopt;
}

int64_t Store::get_or_create_target(std::string_view key, std::string_view display) {
    if (auto id = find_target(key)) return *id;
    Stmt s = prepare("INSERT INTO targets (key, display, created_at) VALUES (?1, ?2, ?3)");
    sqlite3_bind_text(s.get(), 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(s.get(), 2, display.data(), static_cast<int>(display.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_double(s.get(), 3, now_unix());
    const int rc = sqlite3_step(s.get());
    if (rc != SQLITE_DONE) fail(fmt::format("cannot add target {}", key), rc);
    return sqlite3_last_insert_rowid(m_db);
}

int64_t Store::start_instance(int64_t target_id, int64_t pid, int64_t starttime,
                              std::string_view cmdline, double t) {
    Stmt find = prepare(
        "SELECT id FROM instances WHERE target_id = ?1 AND pid = ?2 AND starttime = ?3 AND "
        "exit_t IS NULL ORDER BY id DESC LIMIT 1");
    sqlite3_bind_int64(find.get(), 1, target_id);
    sqlite3_bind_int64(find.get(), 2, pid);
    sqlite3_bind_int64(find.get(), 3, starttime);
    int rc = sqlite3_step(find.get());
    if (rc == SQLITE_ROW) return sqlite3_column_int64(find.get(), 0);
    if (rc != SQLITE_DONE) fail("cannot look up an instance", rc);

    Stmt ins = prepare(
        "INSERT INTO instances (target_id, pid, starttime, cmdline, first_t, last_t) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?5)");
    sqlite3_bind_int64(ins.get(), 1, target_id);
    sqlite3_bind_int64(ins.get(), 2, pid);
    sqlite3_bind_int64(ins.get(), 3, starttime);
    sqlite3_bind_text(ins.get(), 4, cmdline.data(), static_cast<int>(cmdline.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_double(ins.get(), 5, t);
    rc = sqlite3_step(ins.get());
    if (rc != SQLITE_DONE) fail(fmt::format("cannot add an instance of target {}", target_id), rc);
    return sqlite3_last_insert_rowid(m_db);
}

void Store::end_instance(int64_t instance_id, double t) {
    if (const auto it = m_last_t.find(instance_id); it != m_last_t.end()) {
        t = std::max(t, it->second.seen);
        m_last_t.erase(it);
    }
    Stmt s = prepare("UPDATE instances SET exit_t = ?2, last_t = max(last_t, ?2) WHERE id = ?1");
    sqlite3_bind_int64(s.get(), 1, instance_id);
    sqlite3_bind_double(s.get(), 2, t);
    const int rc = sqlite3_step(s.get());
    if (rc != SQLITE_DONE) fail("cannot end an instance", rc);
}

void Store::add_samples(const std::vector<SampleRow>& batch) {
    if (batch.empty()) return;
    exec("BEGIN IMMEDIATE");
    try {
        sqlite3_stmt* s = m_insert_sample.get();
        for (const auto& row : batch) {
            sqlite3_reset(s);
            sqlite3_bind_int64(s, 1, row.instance_id);
            sqlite3_bind_double(s, 2, row.t);
            for (int i = 0; i < k_value_count; ++i) {
                const auto& v = row.*(k_values[i].member);
                if (v) {
                    sqlite3_bind_int64(s, i + 3, *v);
                } else {
                    sqlite3_bind_null(s, i + 3);
                }
            }
            const int rc = sqlite3_step(s);
            if (rc != SQLITE_DONE) {
                fail(fmt::format("cannot add a sample of instance {} (does it exist?)",
                                 row.instance_id),
                     rc);
            }
            auto [it, inserted] = m_last_t.try_emplace(row.instance_id, LastT{row.t, -HUGE_VAL});
            if (!inserted && row.t > it->second.seen) it->second.seen = row.t;
        }
        sqlite3_reset(s);
        flush_last_t(false);
        exec("COMMIT");
    } catch (...) {
        sqlite3_reset(m_insert_sample.get());
        sqlite3_reset(m_update_last_t.get());
        sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
        m_last_t.clear();
        throw;
    }
}

void Store::flush_last_t(bool all) {
    sqlite3_stmt* u = m_update_last_t.get();
    for (auto& [id, last] : m_last_t) {
        if (last.seen <= last.written || (!all && last.seen - last.written < k_last_t_interval)) {
            continue;
        }
        sqlite3_reset(u);
        sqlite3_bind_int64(u, 1, id);
        sqlite3_bind_double(u, 2, last.seen);
        const int rc = sqlite3_step(u);
        if (rc != SQLITE_DONE) fail("cannot update an instance", rc);
        last.written = last.seen;
    }
    sqlite3_reset(u);
}

void Store::add_event(int64_t target_id, double t, EventKind kind, std::string_view detail) {
    Stmt s = prepare("INSERT INTO events (target_id, t, kind, detail) VALUES (?1, ?2, ?3, ?4)");
    const std::string_view k = to_string(kind);
    sqlite3_bind_int64(s.get(), 1, target_id);
    sqlite3_bind_double(s.get(), 2, t);
    sqlite3_bind_text(s.get(), 3, k.data(), static_cast<int>(k.size()), SQLITE_STATIC);
    sqlite3_bind_text(s.get(), 4, detail.data(), static_cast<int>(detail.size()), SQLITE_TRANSIENT);
    const int rc = sqlite3_step(s.get());
    if (rc != SQLITE_DONE) fail(fmt::format("cannot add an event to target {}", target_id), rc);
}

std::vector<Event> Store::events(int64_t target_id) {
    Stmt s = prepare("SELECT t, kind, detail FROM events WHERE target_id = ?1 ORDER BY t, id");
    sqlite3_bind_int64(s.get(), 1, target_id);
    std::vector<Event> out;
    int rc = 0;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
        out.push_back({target_id, sqlite3_column_double(s.get(), 0), text_column(s.get(), 1),
                       text_column(s.get(), 2)});
    }
    if (rc != SQLITE_DONE) fail("cannot read events", rc);
    return out;
}

std::vector<TargetInfo> Store::list_targets() {
    Stmt s = prepare(
        "SELECT g.id, g.key, g.display, g.created_at, "
        "  (SELECT count(*) FROM instances WHERE target_id = g.id), "
        "  count(x.t), min(x.t), max(x.t), "
        "  (SELECT pid FROM instances WHERE target_id = g.id ORDER BY first_t DESC, id DESC "
        "   LIMIT 1), "
        "  (SELECT exit_t IS NULL FROM instances WHERE target_id = g.id "
        "   ORDER BY first_t DESC, id DESC LIMIT 1), "
        "  (SELECT cmdline FROM instances WHERE target_id = g.id "
        "   ORDER BY first_t DESC, id DESC LIMIT 1), "
        "  (SELECT starttime FROM instances WHERE target_id = g.id "
        "   ORDER BY first_t DESC, id DESC LIMIT 1) "
        "FROM targets g "
        "LEFT JOIN instances i ON i.target_id = g.id "
        "LEFT JOIN samples x ON x.instance_id = i.id "
        "GROUP BY g.id ORDER BY g.id");
    std::vector<TargetInfo> out;
    int rc = 0;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
        TargetInfo info;
        info.id = sqlite3_column_int64(s.get(), 0);
        info.key = text_column(s.get(), 1);
        info.display = text_column(s.get(), 2);
        info.created_at = sqlite3_column_double(s.get(), 3);
        info.instances = sqlite3_column_int64(s.get(), 4);
        info.samples = sqlite3_column_int64(s.get(), 5);
        if (sqlite3_column_type(s.get(), 6) != SQLITE_NULL) {
            info.first_t = sqlite3_column_double(s.get(), 6);
            info.last_t = sqlite3_column_double(s.get(), 7);
        }
        if (sqlite3_column_type(s.get(), 8) != SQLITE_NULL) {
            info.last_pid = sqlite3_column_int64(s.get(), 8);
            info.running = sqlite3_column_int64(s.get(), 9) != 0;
            info.last_cmdline = text_column(s.get(), 10);
            info.last_starttime = sqlite3_column_int64(s.get(), 11);
        }
        out.push_back(std::move(info));
    }
    if (rc != SQLITE_DONE) fail("cannot list targets", rc);
    return out;
}

int64_t Store::data_version() {
    Stmt s = prepare("PRAGMA data_version");
    const int rc = sqlite3_step(s.get());
    if (rc != SQLITE_ROW) fail("cannot read PRAGMA data_version", rc);
    return sqlite3_column_int64(s.get(), 0);
}

Series Store::load_series(int64_t target_id) {
    Series out;
    {
        Stmt s = prepare("SELECT key, display FROM targets WHERE id = ?1");
        sqlite3_bind_int64(s.get(), 1, target_id);
        const int rc = sqlite3_step(s.get());
        if (rc == SQLITE_DONE) {
            throw util::Error(
                "{}: there is no target {} (list the targets with leakhunt watch "
                "--db {} --list)",
                m_path.string(), target_id, m_path.string());
        }
        if (rc != SQLITE_ROW) fail("cannot read a target", rc);
        out.labels.emplace("target", text_column(s.get(), 0));
        out.name = text_column(s.get(), 1);
    }
    std::vector<std::vector<double>> cols(std::size(k_values));
    std::vector<bool> any(std::size(k_values), false);
    std::vector<double> abs_t;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    {
        Stmt s = prepare(
            "SELECT x.* FROM samples x JOIN instances i ON x.instance_id = i.id "
            "WHERE i.target_id = ?1 ORDER BY x.t, i.first_t, i.id");
        sqlite3_bind_int64(s.get(), 1, target_id);
        int rc = 0;
        while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
            const double t = sqlite3_column_double(s.get(), 1);
            const bool duplicate = !abs_t.empty() && abs_t.back() == t;
            if (!duplicate) {
                abs_t.push_back(t);
                for (auto& c : cols) c.push_back(nan);
            }
            for (int i = 0; i < k_value_count; ++i) {
                const auto ui = static_cast<size_t>(i);
                if (sqlite3_column_type(s.get(), i + 2) == SQLITE_NULL) {
                    cols[ui].back() = nan;
                    continue;
                }
                cols[ui].back() = static_cast<double>(sqlite3_column_int64(s.get(), i + 2));
                any[ui] = true;
            }
        }
        if (rc != SQLITE_DONE) fail("cannot read samples", rc);
    }
    if (abs_t.empty()) return out;
    const double origin = abs_t.front();
    out.epoch_offset = origin;
    out.t.reserve(abs_t.size());
    for (double t : abs_t) out.t.push_back(t - origin);
    for (size_t i = 0; i < std::size(k_values); ++i) {
        if (any[i] || k_values[i].series_name == k_rss) {
            out.columns.emplace(std::string(k_values[i].series_name), std::move(cols[i]));
        }
    }
    out.instances_known = true;  // every sample belongs to a recorded (pid, starttime) instance
    {
        Stmt s = prepare("SELECT first_t FROM instances WHERE target_id = ?1 ORDER BY first_t, id");
        sqlite3_bind_int64(s.get(), 1, target_id);
        int rc = 0;
        bool first = true;
        while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
            if (!first) out.restart_times.push_back(sqlite3_column_double(s.get(), 0) - origin);
            first = false;
        }
        if (rc != SQLITE_DONE) fail("cannot read instances", rc);
    }
    return out;
}

}  // namespace leakhunt::series
