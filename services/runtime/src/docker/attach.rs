//! Attaching to a container's stdin, stdout and stderr (the engine's hijacked `attach`
//! connection), and resizing its terminal.

use super::{errors, DockerRuntime};
use crate::attach::{Attached, OutputChunk};
use crate::Result;
use bollard::container::{AttachContainerOptions, LogOutput, ResizeContainerTtyOptions};
use futures_util::StreamExt;

impl DockerRuntime {
    pub(crate) async fn attach_container_impl(&self, id: &str) -> Result<Attached> {
        let options = AttachContainerOptions::<String> {
            stdin: Some(true),
            stdout: Some(true),
            stderr: Some(true),
            stream: Some(true),
            logs: Some(false),
            detach_keys: None,
        };
        let attached = self
            .docker
            .attach_container(id, Some(options))
            .await
            .map_err(errors::map)?;
        let output = attached.output.filter_map(|item| {
            std::future::ready(match item {
                Ok(LogOutput::StdOut { message }) | Ok(LogOutput::Console { message }) => {
                    Some(Ok(OutputChunk::Stdout(message.to_vec())))
                }
                Ok(LogOutput::StdErr { message }) => {
                    Some(Ok(OutputChunk::Stderr(message.to_vec())))
                }
                Ok(LogOutput::StdIn { .. }) => None,
                Err(e) => Some(Err(errors::map(e))),
            })
        });
        Ok(Attached {
            stdin: attached.input,
            output: Box::pin(output),
        })
    }

    pub(crate) async fn resize_tty_impl(&self, id: &str, rows: u16, cols: u16) -> Result<()> {
        self.docker
            .resize_container_tty(
                id,
                ResizeContainerTtyOptions {
                    width: cols,
                    height: rows,
                },
            )
            .await
            .map_err(errors::map)
    }
}
