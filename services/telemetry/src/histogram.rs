//! A bounded latency histogram: fixed logarithmic buckets (exact below 32 ms, then 16 per
//! power of two, so a reported percentile is at most 1/16 above the true value), stored
//! sparsely (only buckets that saw a request), capped at about 4.6 hours.

/// Values up to this are their own bucket.
const EXACT: u64 = 32;
/// Sub-buckets per power of two above `EXACT`.
const SUB_BITS: u32 = 4;
/// Latencies are capped here (2^24 ms, about 4.6 h).
const MAX_MS: u64 = (1 << 24) - 1;

/// Counts per bucket, sorted by bucket; empty buckets are not stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    buckets: Vec<(u16, u32)>,
    count: u64,
}

/// The bucket of a latency in milliseconds.
fn bucket_of(ms: u64) -> u16 {
    let ms = ms.min(MAX_MS);
    if ms < EXACT {
        return ms as u16;
    }
    let exponent = 63 - ms.leading_zeros(); // >= 5
    let sub = (ms >> (exponent - SUB_BITS)) & ((1 << SUB_BITS) - 1);
    (EXACT + u64::from(exponent - 5) * (1 << SUB_BITS) + sub) as u16
}

/// The highest latency that falls in `bucket` (what a percentile reports).
fn highest_in(bucket: u16) -> u64 {
    let bucket = u64::from(bucket);
    if bucket < EXACT {
        return bucket;
    }
    let exponent = (bucket - EXACT) / (1 << SUB_BITS) + 5;
    let sub = (bucket - EXACT) % (1 << SUB_BITS);
    let width = 1u64 << (exponent - u64::from(SUB_BITS));
    (1u64 << exponent) + sub * width + width - 1
}

impl Histogram {
    pub fn record(&mut self, ms: u64) {
        let bucket = bucket_of(ms);
        match self.buckets.binary_search_by_key(&bucket, |(b, _)| *b) {
            Ok(i) => self.buckets[i].1 = self.buckets[i].1.saturating_add(1),
            Err(i) => self.buckets.insert(i, (bucket, 1)),
        }
        self.count += 1;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Adds another histogram's counts to this one.
    pub fn merge(&mut self, other: &Histogram) {
        for &(bucket, n) in &other.buckets {
            match self.buckets.binary_search_by_key(&bucket, |(b, _)| *b) {
                Ok(i) => self.buckets[i].1 = self.buckets[i].1.saturating_add(n),
                Err(i) => self.buckets.insert(i, (bucket, n)),
            }
        }
        self.count += other.count;
    }

    /// The latency at quantile `q` (0.5 for p50): the highest value of the bucket holding the
    /// request ranked `ceil(q * count)`. `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for &(bucket, n) in &self.buckets {
            seen += u64::from(n);
            if seen >= rank {
                return Some(highest_in(bucket));
            }
        }
        self.buckets.last().map(|&(b, _)| highest_in(b))
    }

    /// (bucket, count) pairs as stored, for a snapshot.
    pub fn raw(&self) -> impl Iterator<Item = (u16, u32)> + '_ {
        self.buckets.iter().copied()
    }

    /// Adds `count` to `bucket` (from a snapshot); a bucket outside the layout is ignored.
    pub fn add_raw(&mut self, bucket: u16, count: u32) {
        if bucket > bucket_of(MAX_MS) || count == 0 {
            return;
        }
        match self.buckets.binary_search_by_key(&bucket, |(b, _)| *b) {
            Ok(i) => self.buckets[i].1 = self.buckets[i].1.saturating_add(count),
            Err(i) => self.buckets.insert(i, (bucket, count)),
        }
        self.count += u64::from(count);
    }

    /// Gives back spare capacity (a minute that is over keeps only what it holds).
    pub fn shrink_to_fit(&mut self) {
        self.buckets.shrink_to_fit();
    }

    /// Bytes this histogram holds on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<(u16, u32)>()
    }

    /// Buckets with their upper bound in ms and count, ascending (for exports).
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.buckets
            .iter()
            .map(|&(b, n)| (highest_in(b), u64::from(n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_contain_their_values() {
        let mut previous = 0;
        for ms in 0..200_000u64 {
            let bucket = bucket_of(ms);
            assert!(bucket >= previous);
            previous = bucket;
            assert!(highest_in(bucket) >= ms, "{ms}");
            // At most 1/16 above the true value.
            assert!(
                highest_in(bucket) <= ms + ms / 16,
                "{ms} -> {}",
                highest_in(bucket)
            );
        }
        assert_eq!(highest_in(bucket_of(u64::MAX)), MAX_MS);
    }

    #[test]
    fn percentiles_of_known_latencies() {
        let mut h = Histogram::default();
        assert_eq!(h.quantile(0.5), None);
        // 1..=100 ms, once each.
        for ms in 1..=100 {
            h.record(ms);
        }
        assert_eq!(h.count(), 100);
        // p50 is the 50th value (50 ms), p95 the 95th, p99 the 99th; each within its bucket.
        let p50 = h.quantile(0.5).unwrap();
        let p95 = h.quantile(0.95).unwrap();
        let p99 = h.quantile(0.99).unwrap();
        assert!((50..=53).contains(&p50), "{p50}");
        assert!((95..=99).contains(&p95), "{p95}");
        assert!((99..=103).contains(&p99), "{p99}");
        // Small latencies are exact.
        let mut fast = Histogram::default();
        for ms in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] {
            fast.record(ms);
        }
        assert_eq!(fast.quantile(0.5), Some(5));
        assert_eq!(fast.quantile(0.95), Some(10));
        assert_eq!(fast.quantile(0.0), Some(1));
    }

    #[test]
    fn one_slow_request_in_a_hundred_shows_in_p99_only() {
        let mut h = Histogram::default();
        for _ in 0..99 {
            h.record(10);
        }
        h.record(2_000);
        assert_eq!(h.quantile(0.5), Some(10));
        assert_eq!(h.quantile(0.95), Some(10));
        assert_eq!(h.quantile(0.99), Some(10));
        assert!(h.quantile(1.0).unwrap() >= 2_000);
        let mut two = Histogram::default();
        for _ in 0..98 {
            two.record(10);
        }
        two.record(2_000);
        two.record(2_000);
        assert!(two.quantile(0.99).unwrap() >= 2_000);
    }

    #[test]
    fn merged_histograms_count_both() {
        let mut a = Histogram::default();
        let mut b = Histogram::default();
        for ms in 0..50 {
            a.record(ms);
        }
        for ms in 50..100 {
            b.record(ms);
        }
        a.merge(&b);
        assert_eq!(a.count(), 100);
        let p50 = a.quantile(0.5).unwrap();
        assert!((49..=52).contains(&p50), "{p50}");
        // Never more buckets than the fixed layout has.
        let mut wide = Histogram::default();
        for ms in 0..10_000_000u64 {
            if ms % 997 == 0 {
                wide.record(ms);
            }
        }
        assert!(wide.buckets.len() <= 32 + 19 * 16);
    }
}
