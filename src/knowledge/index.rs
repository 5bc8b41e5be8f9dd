//! The in-memory Tantivy index over snippets. Building it is blocking CPU work.

use std::sync::Arc;

use chrono::NaiveDate;
use jieba_rs::Jieba;
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, STRING,
};
use tantivy::{Index, IndexWriter, Searcher, TantivyDocument};

use super::tokenize::{GramTokenizer, JiebaTokenizer, GRAMS, WORDS};
use super::{KnowledgeError, Snippet};
use crate::conversation::Platform;

/// Term in the sku filter field for "not restricted".
pub const ANY: &str = "*";

#[derive(Clone, Copy)]
pub struct Fields {
    pub title_words: Field,
    pub body_words: Field,
    pub title_grams: Field,
    pub body_grams: Field,
    pub platform: Field,
    pub sku: Field,
    /// Days since 0001-01-01 (CE), `i64::MIN` when open-ended.
    pub valid_from: Field,
    /// Position in the snippet list.
    pub ord: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |tokenizer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::WithFreqs),
        )
    };
    let fields = Fields {
        title_words: b.add_text_field("title_words", text(WORDS)),
        body_words: b.add_text_field("body_words", text(WORDS)),
        title_grams: b.add_text_field("title_grams", text(GRAMS)),
        body_grams: b.add_text_field("body_grams", text(GRAMS)),
        platform: b.add_text_field("platform", STRING),
        sku: b.add_text_field("sku", STRING),
        valid_from: b.add_i64_field("valid_from", NumericOptions::default().set_fast()),
        ord: b.add_u64_field("ord", NumericOptions::default().set_fast()),
    };
    (b.build(), fields)
}

pub fn day_number(d: NaiveDate) -> i64 {
    use chrono::Datelike;
    i64::from(d.num_days_from_ce())
}

/// The normalized SKU used by the filter field (case and surrounding space do not matter).
pub fn sku_key(s: &str) -> String {
    s.trim().to_lowercase()
}

/// What the index holds, and how the searcher sees it.
pub struct Built {
    pub searcher: Searcher,
    pub fields: Fields,
    /// Snippet position of each document, per segment (read once: opening the fast-field
    /// column per hit costs more than the search itself).
    pub ords: Vec<Vec<u32>>,
    /// Which filters can exclude anything at all (the others are skipped at query time).
    pub any_platform_limit: bool,
    pub any_sku_limit: bool,
    pub any_valid_from: bool,
}

/// Which text goes into the index.
#[derive(Clone, Copy)]
pub struct IndexShape {
    /// Titles and tags indexed (else body text only: the baseline).
    pub titles: bool,
    /// Character bigram fields.
    pub grams: bool,
    /// jieba's HMM guessing of unknown words.
    pub hmm: bool,
}

fn index_err(what: &str) -> impl Fn(tantivy::TantivyError) -> KnowledgeError + '_ {
    move |e| KnowledgeError::Index(format!("{what}: {e}"))
}

/// Indexes `snippets` in RAM. Tokenizers are registered on the new index before any document.
pub fn build(
    snippets: &[Snippet],
    jieba: Arc<Jieba>,
    shape: IndexShape,
) -> Result<Built, KnowledgeError> {
    let (schema, f) = schema();
    let index = Index::create_in_ram(schema);
    index.tokenizers().register(
        WORDS,
        JiebaTokenizer {
            jieba,
            search_mode: true,
            hmm: shape.hmm,
        },
    );
    index.tokenizers().register(GRAMS, GramTokenizer);

    // Two threads pay off only for large folders; a small one indexes faster in one segment.
    let threads = if snippets.len() > 20_000 {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
    } else {
        1
    };
    let mut writer: IndexWriter<TantivyDocument> = index
        .writer_with_num_threads(threads, threads * 64_000_000)
        .map_err(index_err("could not create the index writer"))?;
    for (ord, s) in snippets.iter().enumerate() {
        let mut doc = TantivyDocument::default();
        if shape.titles {
            doc.add_text(f.title_words, &s.title);
            for tag in &s.tags {
                doc.add_text(f.title_words, tag);
            }
        }
        doc.add_text(f.body_words, &s.text);
        if shape.grams {
            if shape.titles {
                doc.add_text(f.title_grams, &s.title);
            }
            doc.add_text(f.body_grams, &s.text);
        }
        // Every platform a snippet shows on is listed, so the filter is one posting list.
        let platforms: &[Platform] = if s.platforms.is_empty() {
            &Platform::ALL
        } else {
            &s.platforms
        };
        for p in platforms {
            doc.add_text(f.platform, p.as_str());
        }
        if s.skus.is_empty() {
            doc.add_text(f.sku, ANY);
        }
        for sku in &s.skus {
            doc.add_text(f.sku, sku_key(sku));
        }
        doc.add_i64(f.valid_from, s.valid_from.map_or(i64::MIN, day_number));
        doc.add_u64(f.ord, ord as u64);
        writer
            .add_document(doc)
            .map_err(index_err("could not add a document"))?;
    }
    writer
        .commit()
        .map_err(index_err("could not commit the index"))?;
    writer
        .wait_merging_threads()
        .map_err(index_err("index merge failed"))?;
    let reader = index
        .reader_builder()
        .reload_policy(tantivy::ReloadPolicy::Manual)
        .try_into()
        .map_err(index_err("could not open the index reader"))?;
    let searcher = reader.searcher();
    let mut ords = Vec::with_capacity(searcher.segment_readers().len());
    for segment in searcher.segment_readers() {
        let column = segment
            .fast_fields()
            .u64("ord")
            .map_err(index_err("could not read the snippet number column"))?;
        ords.push(
            (0..segment.max_doc())
                .map(|doc| column.first(doc).map_or(u32::MAX, |o| o as u32))
                .collect(),
        );
    }
    Ok(Built {
        searcher,
        ords,
        fields: f,
        any_platform_limit: snippets.iter().any(|s| !s.platforms.is_empty()),
        any_sku_limit: snippets.iter().any(|s| !s.skus.is_empty()),
        any_valid_from: snippets.iter().any(|s| s.valid_from.is_some()),
    })
}
