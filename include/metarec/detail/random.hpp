// metarec: a small portable random generator (same seed, same numbers on every platform).
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstdint>

namespace metarec::detail {

/// xoshiro256** seeded through splitmix64. The standard distributions are not
/// reproducible across standard libraries, so every random number metarec draws (weight
/// initialization, task sampling, synthetic data) comes from here, mapped by hand.
class rng {
public:
    explicit rng(std::uint64_t seed = 0) noexcept {
        for (auto& word : s_) word = splitmix(seed);
    }

    //! 64 uniformly random bits
    std::uint64_t next() noexcept {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    //! uniform in [0, 1) with 53 random bits
    double uniform() noexcept { return double(next() >> 11) * 0x1.0p-53; }

    //! uniform in [lo, hi)
    double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }

    //! uniform integer in [0, n), unbiased (rejects the lowest 2^64 mod n draws); n > 0
    std::uint64_t below(std::uint64_t n) noexcept {
        const std::uint64_t threshold = (0 - n) % n;
        std::uint64_t r = next();
        while (r < threshold) r = next();
        return r % n;
    }

    //! the four state words, for checkpoints
    std::array<std::uint64_t, 4> state_words() const noexcept { return {s_[0], s_[1], s_[2], s_[3]}; }
    //! continues from state_words() (not all zero: xoshiro's one invalid state)
    void set_state(const std::array<std::uint64_t, 4>& words) noexcept {
        for (int i = 0; i < 4; ++i) s_[i] = words[std::size_t(i)];
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
    static std::uint64_t splitmix(std::uint64_t& x) noexcept {
        std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    std::uint64_t s_[4];
};

}  // namespace metarec::detail
