use std::process::ExitCode;

use crate::cli::DestroyArgs;

use super::apply::{self, Request};
use super::Context;

/// `deckhand destroy`: an apply towards a file without the deckies in scope.
pub async fn run(ctx: &Context, args: &DestroyArgs) -> anyhow::Result<ExitCode> {
    let request = Request {
        config: args.change.config.file.clone(),
        targets: args.change.target.clone(),
        approval: apply::approval(ctx, args.change.auto_approve)?,
        adopt: false,
        destroy: true,
        networks: args.networks,
    };
    apply::execute(ctx, &request).await
}
