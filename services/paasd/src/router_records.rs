//! A separate router's (`paasd router`) per-request records, shipped to the control plane
//! (`POST /api/router/records` with the router's secret), which appends them to the apps'
//! logs. Records are gathered for up to 100 ms and sent in batches; while the control plane
//! cannot be reached they wait (at most `MAX_PENDING`, the oldest dropped and counted), so
//! the router itself never waits for any of this.

use paas_router::{RecordSource, RequestRecord};
use std::collections::VecDeque;
use std::time::Duration;

/// Records the router may hand over before the shipper reads them (beyond: dropped, counted).
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
    let mut pending: VecDeque<RequestRecord> = VecDeque::new();
    let mut dropped: u64 = 0;
    let mut failing = false;
    loop {
        if pending.is_empty() {
            match source.rx.recv().await {
                Some(record) => pending.push_back(record),
                None => return,
            }
        }
        // Gather without waiting on the channel, so the router's sends wake no one meanwhile.
        tokio::time::sleep(GATHER).await;
        while pending.len() < MAX_BATCH {
            match source.rx.try_recv() {
                Ok(record) => pending.push_back(record),
                Err(_) => break,
            }
        }
        let n = pending.len().min(MAX_BATCH);
        let batch: Vec<&RequestRecord> = pending.iter().take(n).collect();
        let sent = client
            .post(&url)
            .bearer_auth(&token)
            .json(&batch)
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => {
                pending.drain(..n);
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
                // Keep reading meanwhile (bounded), so the router's channel never fills.
                let pause = tokio::time::Instant::now() + Duration::from_secs(1);
                while let Ok(Some(record)) = tokio::time::timeout_at(pause, source.rx.recv()).await
                {
                    pending.push_back(record);
                }
            }
        }
        while pending.len() > MAX_PENDING {
            pending.pop_front();
            dropped += 1;
            if dropped.is_power_of_two() {
                tracing::warn!("{dropped} router records dropped while the control plane was away");
            }
        }
    }
}
