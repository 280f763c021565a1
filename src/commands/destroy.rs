use std::process::ExitCode;

use crate::cli::DestroyArgs;

use super::apply::{self, Request};
use super::Context;
use crate::render::run::Verb;

/// `deckhand destroy`: an apply towards a file without the deckies in scope.
pub async fn run(ctx: &Context, args: &DestroyArgs) -> anyhow::Result<ExitCode> {
    let config = &args.change.config.file;
    apply::in_json(args.change.json, config, run_request(ctx, args)).await
}

async fn run_request(ctx: &Context, args: &DestroyArgs) -> anyhow::Result<ExitCode> {
    let request = Request {
        config: args.change.config.file.clone(),
        targets: args.change.target.clone(),
        approval: apply::approval(
            ctx,
            args.change.auto_approve,
            args.change.json,
            Verb::Destroy,
        )?,
        adopt: false,
        destroy: true,
        networks: args.networks,
        json: args.change.json,
        force: false,
        rotate: vec![],
    };
    apply::execute(ctx, &request).await
}
