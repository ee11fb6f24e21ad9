//! A separate router's (`paasd router`) per-request records, shipped to the control plane
//! (`POST /api/router/records` with the router's secret), which appends them to the apps'
//! logs. Records are gathered for up to 100 ms and sent in batches; while the control plane
//! cannot be reached they wait (at most `MAX_PENDING`, the oldest dropped and counted), so
//! the router itself never waits for any of this.

use paas_router::{RecordBatch, RecordSource, RouterLine};
use std::time::Duration;

/// Records a serving thread may hold before the shipper reads them (beyond: dropped, counted).
pub const BACKLOG: usize = 16_384;
/// Most records in one request.
const MAX_BATCH: usize = 2_000;
/// Most records kept while the control plane cannot be reached.
const MAX_PENDING: usize = 50_000;
/// How long records are gathered before a batch is sent.
const GATHER: Duration = Duration::from_millis(100);

/// Ships records from `source` to `control` until the router stops.
pub async fn ship(control: String, token: String, mut source: RecordSource) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            tracing::warn!("router records will not reach the app logs: {e}");
            return;
        }
    };
    let url = format!("{control}/api/router/records");
    let mut pending = RecordBatch::default();
    let mut dropped: u64 = 0;
    let mut failing = false;
    loop {
        if pending.is_empty() && !source.next_into(&mut pending).await {
            return;
        }
        // Gather without taking meanwhile, so the router's threads wake no one.
        tokio::time::sleep(GATHER).await;
        source.take_into(&mut pending);
        let n = pending.len().min(MAX_BATCH);
        let batch: Vec<RouterLine<'_>> = pending.lines().take(n).collect();
        let sent = client
            .post(&url)
            .bearer_auth(&token)
            .json(&batch)
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => {
                pending.drop_first(n);
                if failing {
                    tracing::info!("router records reach the control plane again");
                    failing = false;
                }
            }
            other => {
                if !failing {
                    let why = match other {
                        Ok(response) => format!("HTTP {}", response.status()),
                        Err(e) => e.to_string(),
                    };
                    tracing::warn!("cannot ship router records to the control plane: {why}");
                    failing = true;
                }
                // Keep taking meanwhile (bounded), so the router's buffers never fill.
                tokio::time::sleep(Duration::from_secs(1)).await;
                source.take_into(&mut pending);
            }
        }
        let over = pending.len().saturating_sub(MAX_PENDING);
        if over > 0 {
            pending.drop_first(over);
            let before = dropped;
            dropped += over as u64;
            // Said again each time the count passes a power of two.
            if before == 0 || dropped.ilog2() > before.ilog2() {
                tracing::warn!("{dropped} router records dropped while the control plane was away");
            }
        }
    }
}
