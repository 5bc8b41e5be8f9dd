//! One loaded knowledge folder (snippets, index, language) and searching it.

use std::ops::Bound;
use std::sync::Arc;

use chrono::NaiveDate;
use jieba_rs::Jieba;
use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::IndexRecordOption;
use tantivy::Term;

use super::index::{self, day_number, sku_key, Built, Fields, IndexShape, ANY};
use super::query::{analyze, Analyzed, Source};
use super::synonyms::{QueryLanguage, Synonyms};
use super::tokenize::{build_jieba, normalize};
use super::{
    Hit, KnowledgeError, LoadReport, SearchOptions, SearchRequest, SearchResponse, Snippet,
};

/// Everything one load produced; replaced as a whole on reload.
pub struct Inner {
    pub snippets: Vec<Snippet>,
    pub report: LoadReport,
    pub version: String,
    jieba: Arc<Jieba>,
    lang: QueryLanguage,
    synonyms: Synonyms,
    built: Built,
    options: SearchOptions,
}

impl Inner {
    /// Tokenizes and indexes (blocking CPU work).
    pub fn build(
        snippets: Vec<Snippet>,
        report: LoadReport,
        version: String,
        dict: Option<&str>,
        synonyms: Option<&str>,
        options: SearchOptions,
    ) -> Result<Inner, KnowledgeError> {
        let mut jieba = build_jieba(
            if options.user_dict { dict } else { None },
            options.user_dict,
        );
        let synonyms = match synonyms {
            Some(s) if options.synonyms => Synonyms::parse(s),
            _ => Synonyms::default(),
        };
        if options.user_dict && options.synonyms {
            // Synonym members are words customers write: let jieba keep them whole.
            for group in synonyms.groups() {
                for w in group {
                    let n = w.chars().count();
                    if (2..=4).contains(&n)
                        && !jieba.has_word(w)
                        && w.chars().all(|c| !c.is_ascii())
                    {
                        jieba.add_word(w, Some(2_000), None);
                    }
                }
            }
        }
        let jieba = Arc::new(jieba);
        let built = index::build(
            &snippets,
            jieba.clone(),
            IndexShape {
                titles: options.titles,
                grams: options.grams,
            },
        )?;
        Ok(Inner {
            snippets,
            report,
            version,
            jieba,
            lang: QueryLanguage::new(),
            synonyms,
            built,
            options,
        })
    }

    pub fn analyze(&self, req: &SearchRequest) -> Analyzed {
        analyze(
            &req.turns,
            &self.jieba,
            &self.lang,
            &self.synonyms,
            &self.options,
        )
    }

    pub fn search(&self, req: &SearchRequest) -> Result<SearchResponse, KnowledgeError> {
        let empty = SearchResponse {
            hits: Vec::new(),
            no_answer: true,
        };
        if req.k == 0 {
            return Ok(empty);
        }
        let analyzed = self.analyze(req);
        let Some(text_query) = self.text_query(&analyzed) else {
            return Ok(empty);
        };
        let today = req
            .date
            .unwrap_or_else(|| chrono::Local::now().date_naive());
        let query = BooleanQuery::new(vec![
            (Occur::Must, text_query),
            (Occur::Must, self.filter(req, today)),
        ]);
        // Extra candidates so expired snippets can move down without emptying the top k.
        let limit = req.k * 2 + 10;
        let top = self
            .built
            .searcher
            .search(&query, &TopDocs::with_limit(limit).order_by_score())
            .map_err(|e| KnowledgeError::Index(format!("search failed: {e}")))?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let ord = self
                .built
                .searcher
                .segment_reader(addr.segment_ord)
                .fast_fields()
                .u64("ord")
                .map_err(|e| KnowledgeError::Index(format!("snippet number column: {e}")))?
                .first(addr.doc_id);
            let Some(s) = ord.and_then(|o| self.snippets.get(o as usize)) else {
                continue;
            };
            let expired = s.valid_to.is_some_and(|to| to < today);
            let mut score = score;
            if expired {
                score *= self.options.expired_penalty;
            }
            if let Some(sku) = &req.sku {
                if sku_key(&s.doc_id) == sku_key(sku) {
                    score *= self.options.sku_boost;
                }
            }
            hits.push(Hit {
                id: s.id.clone(),
                doc_id: s.doc_id.clone(),
                title: s.title.clone(),
                kind: s.kind,
                score,
                text: s.text.clone(),
                source: s.source.clone(),
                expired,
                valid_from: s.valid_from,
                valid_to: s.valid_to,
            });
        }
        // Expired ones go below current ones of similar relevance; ties keep index order.
        hits.sort_by(|a, b| {
            a.expired
                .cmp(&b.expired)
                .then_with(|| b.score.total_cmp(&a.score))
        });
        hits.truncate(req.k);
        let no_answer = self.no_answer(&analyzed, &hits);
        Ok(SearchResponse { hits, no_answer })
    }

    fn text_query(&self, a: &Analyzed) -> Option<Box<dyn Query>> {
        let f = &self.built.fields;
        let o = &self.options;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut add = |field, text: &str, boost: f32| {
            if boost > 0.0 {
                let q = TermQuery::new(
                    Term::from_field_text(field, text),
                    IndexRecordOption::WithFreqs,
                );
                clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost))));
            }
        };
        for t in &a.words {
            add(f.body_words, &t.text, t.weight * o.body_boost);
            if o.titles {
                add(f.title_words, &t.text, t.weight * o.title_boost);
            }
        }
        if o.grams {
            for t in &a.grams {
                add(f.body_grams, &t.text, t.weight * o.body_boost);
                if o.titles {
                    add(f.title_grams, &t.text, t.weight * o.title_boost);
                }
            }
        }
        if clauses.is_empty() {
            None
        } else {
            Some(Box::new(BooleanQuery::new(clauses)))
        }
    }

    /// Platform, SKU and validity as a zero-score clause: filters must not change the ranking.
    fn filter(&self, req: &SearchRequest, today: NaiveDate) -> Box<dyn Query> {
        let f: &Fields = &self.built.fields;
        let any_of = |field, values: Vec<String>| -> Box<dyn Query> {
            Box::new(BooleanQuery::new(
                values
                    .into_iter()
                    .map(|v| {
                        let q: Box<dyn Query> = Box::new(TermQuery::new(
                            Term::from_field_text(field, &v),
                            IndexRecordOption::Basic,
                        ));
                        (Occur::Should, q)
                    })
                    .collect(),
            ))
        };
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let Some(p) = req.platform {
            must.push((
                Occur::Must,
                any_of(f.platform, vec![ANY.into(), p.as_str().into()]),
            ));
        }
        // A snippet restricted to SKUs shows only on those products' pages, or when no SKU is
        // known (the customer may be asking about any of them).
        if let Some(sku) = req.sku.as_deref().filter(|s| !s.trim().is_empty()) {
            must.push((Occur::Must, any_of(f.sku, vec![ANY.into(), sku_key(sku)])));
        }
        must.push((
            Occur::Must,
            Box::new(RangeQuery::new(
                Bound::Unbounded,
                Bound::Included(Term::from_field_i64(f.valid_from, day_number(today))),
            )),
        ));
        Box::new(ConstScoreQuery::new(Box::new(BooleanQuery::new(must)), 0.0))
    }

    /// Whether the best hit fails to cover enough of what the customer asked.
    fn no_answer(&self, a: &Analyzed, hits: &[Hit]) -> bool {
        let Some(top) = hits.first() else {
            return true;
        };
        if self.options.no_answer_coverage <= 0.0 {
            return false;
        }
        coverage(a, &normalize(&format!("{} {}", top.title, top.text)))
            < self.options.no_answer_coverage
    }
}

/// Share of the query's own word weight (not synonyms) whose words occur in `text`.
pub fn coverage(a: &Analyzed, normalized_text: &str) -> f32 {
    let mut total = 0.0;
    let mut found = 0.0;
    for t in a.words.iter().filter(|t| t.source == Source::Word) {
        total += t.weight;
        if normalized_text.contains(t.text.as_str()) {
            found += t.weight;
        }
    }
    if total <= 0.0 {
        0.0
    } else {
        found / total
    }
}
