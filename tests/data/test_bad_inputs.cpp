// metarec tests: the bad-input corpus (tests/data/bad/): every malformed input of every loader
// is a data_error whose message is exactly the one in expected.tsv (file:line:column: reason).
// With METAREC_PRINT_BAD_INPUTS=1 in the environment it prints the messages in the manifest's
// format instead (to review them when a case is added).
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <metarec/data/data.hpp>

namespace fs = std::filesystem;
namespace mr = metarec;

namespace {

const fs::path corpus = METAREC_BAD_INPUT_DIR;
const char* const kinds[] = {"csv", "ml100k", "ml1m", "npy"};

// loads case `dir` of `kind` as metarec-coldstart would; returns the data_error's message
std::string error_of(const std::string& kind, const fs::path& dir) {
    try {
        if (kind == "ml100k") {
            mr::data::load_movielens_100k(dir);
        } else if (kind == "ml1m") {
            mr::data::load_movielens_1m(dir);
        } else {
            std::ifstream args(dir / "args");
            std::string user_schema, item_schema;
            std::getline(args, user_schema);
            std::getline(args, item_schema);
            const auto optional = [&](const char* name) { return fs::exists(dir / name) ? dir / name : fs::path(); };
            mr::data::load_csv({dir / "interactions.csv", optional("users.csv"), optional("items.csv"), user_schema, item_schema});
        }
    } catch (const mr::data_error& e) {
        std::string message = e.what();
        const std::string prefix = corpus.string() + "/";
        for (std::size_t at; (at = message.find(prefix)) != std::string::npos;) message.erase(at, prefix.size());
        return message;
    }
    return "(no error)";
}

struct expectation {
    std::string kind, name, message;
};

std::vector<expectation> manifest() {
    std::vector<expectation> out;
    std::ifstream in(corpus / "expected.tsv");
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        const auto a = line.find('\t'), b = line.find('\t', a + 1);
        REQUIRE_MESSAGE((a != std::string::npos && b != std::string::npos), "malformed manifest line: " << line);
        out.push_back({line.substr(0, a), line.substr(a + 1, b - a - 1), line.substr(b + 1)});
    }
    return out;
}

}  // namespace

TEST_CASE("bad-input corpus: every case gets exactly its expected data_error") {
    if (std::getenv("METAREC_PRINT_BAD_INPUTS")) {
        for (const char* kind : kinds)
            for (const auto& entry : fs::directory_iterator(corpus / kind)) {
                const auto name = entry.path().filename().string();
                std::cout << kind << '\t' << name << '\t' << error_of(kind, entry.path()) << '\n';
            }
        return;
    }
    const auto cases = manifest();
    std::map<std::string, int> per_kind;
    std::set<std::string> listed;
    for (const auto& c : cases) {
        CAPTURE(c.kind);
        CAPTURE(c.name);
        CHECK(error_of(c.kind, corpus / c.kind / c.name) == c.message);
        ++per_kind[c.kind];
        listed.insert(c.kind + "/" + c.name);
    }
    for (const char* kind : kinds) {
        CHECK_MESSAGE(per_kind[kind] >= 30, kind << " has " << per_kind[kind] << " cases, at least 30 expected");
        for (const auto& entry : fs::directory_iterator(corpus / kind))
            CHECK_MESSAGE(listed.count(std::string(kind) + "/" + entry.path().filename().string()),
                          "case " << entry.path() << " is not in expected.tsv");
    }
}
