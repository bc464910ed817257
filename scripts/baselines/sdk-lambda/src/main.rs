//! scripts/bench baseline: aws-config's defaults, a DynamoDB client built
//! once, one GetItem per call (the table from `PORTICO_TABLE`).
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = std::env::var("PORTICO_TABLE")?;
    lambda_http::run(service_fn(|_: Request| {
        let (client, table) = (client.clone(), table.clone());
        async move {
            let got = client
                .get_item()
                .table_name(table)
                .key("pk", AttributeValue::S("SEED#demo".into()))
                .key("sk", AttributeValue::S("SEED".into()))
                .send()
                .await?;
            Ok::<_, Error>(Response::new(Body::from(format!("{}", got.item.is_some()))))
        }
    }))
    .await
}
