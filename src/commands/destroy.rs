use std::process::ExitCode;

use crate::cli::DestroyArgs;

use super::apply::{self, Request};
use super::Context;

/// `deckhand destroy`: an apply towards a file without the deckies in scope.
pub async fn run(ctx: &Context, args: &DestroyArgs) -> anyhow::Result<ExitCode> {
    let fleet = apply::Fleet::new();
    apply::in_json(args.change.json, &fleet, run_request(ctx, args, &fleet)).await
}

async fn run_request(
    ctx: &Context,
    args: &DestroyArgs,
    fleet: &apply::Fleet,
) -> anyhow::Result<ExitCode> {
    let request = Request {
        config: args.change.config.file.clone(),
        targets: args.change.target.clone(),
        approval: apply::approval(ctx, args.change.auto_approve, args.change.json),
        adopt: false,
        destroy: true,
        networks: args.networks,
        json: args.change.json,
        force: false,
        rotate: vec![],
    };
    apply::execute(ctx, &request, fleet).await
}
